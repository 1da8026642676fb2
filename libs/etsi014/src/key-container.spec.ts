import { buildKeyContainer } from './key-container';

const ID_1 = 'bc490419-7d60-487f-adc1-4ddcc177c139';
const ID_2 = '0a782fb5-3434-48fe-aa4d-14f41d46cf92';

describe('buildKeyContainer', () => {
  it('encodes material in padded Base64 (RFC 4648)', () => {
    const container = buildKeyContainer([
      { keyId: ID_1, material: Uint8Array.of(0xfb, 0xff, 0xbf) },
      { keyId: ID_2, material: Uint8Array.of(0x66, 0x6f, 0x6f, 0x62) },
    ]);
    expect(container).toEqual({
      keys: [
        { key_ID: ID_1, key: '+/+/' },
        { key_ID: ID_2, key: 'Zm9vYg==' },
      ],
    });
  });

  it('encodes only the bytes of a view, not the rest of its buffer', () => {
    const buffer = Uint8Array.of(1, 2, 3, 4, 5, 6);
    expect(buildKeyContainer([{ keyId: ID_1, material: buffer.subarray(2, 4) }]).keys[0]?.key).toBe(
      Buffer.of(3, 4).toString('base64'),
    );
  });

  it('shows the decode deadline as key_extension.dqkd_expires_at in ISO 8601 UTC', () => {
    const container = buildKeyContainer([
      { keyId: ID_1, material: new Uint8Array(32), expiresAt: new Date(Date.UTC(2030, 0, 2, 3, 4, 5, 6)) },
    ]);
    expect(container.keys[0]).toEqual({
      key_ID: ID_1,
      key: Buffer.alloc(32).toString('base64'),
      key_extension: { dqkd_expires_at: '2030-01-02T03:04:05.006Z' },
    });
  });

  it('answers an empty container for no keys', () => {
    expect(buildKeyContainer([])).toEqual({ keys: [] });
  });
});
