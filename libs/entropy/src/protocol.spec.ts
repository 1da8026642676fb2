import { decodeSamplePlaintext, encodeSamplePlaintext, isRefusalReason, refBody, refOf } from './protocol';

describe('the entropy-server protocol', () => {
  it('puts the offset before the sample bytes and reads both back', () => {
    const bytes = Uint8Array.of(1, 2, 3);
    const plaintext = encodeSamplePlaintext(2 ** 40 + 5, bytes);
    expect(plaintext).toHaveLength(11);
    const decoded = decodeSamplePlaintext(plaintext);
    expect(decoded?.offset).toBe(2 ** 40 + 5);
    expect(Array.from(decoded?.bytes ?? [])).toEqual([1, 2, 3]);
  });

  it('refuses a plaintext shorter than its offset', () => {
    expect(decodeSamplePlaintext(new Uint8Array(7))).toBeUndefined();
  });

  it('maps a sample reference to its JSON body and back', () => {
    const ref = { serverId: 'entropy-1', poolId: 'p', offset: 8, length: 16, notAfter: 1_700_000_000_000 };
    expect(refBody(ref)).toEqual({
      server_id: 'entropy-1',
      pool_id: 'p',
      offset: 8,
      length: 16,
      not_after: 1_700_000_000_000,
    });
    expect(refOf(refBody(ref))).toEqual(ref);
  });

  it('knows the refusal reasons and nothing else', () => {
    expect(['unknown', 'expired', 'already-read', 'not-yours'].every(isRefusalReason)).toBe(true);
    expect(isRefusalReason('teapot')).toBe(false);
  });
});
