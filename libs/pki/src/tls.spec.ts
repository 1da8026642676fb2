import { certificateIdentity } from './tls';

describe('certificateIdentity', () => {
  it('is the common name of the peer certificate', () => {
    expect(certificateIdentity({ subject: { CN: 'sae-alice' } })).toBe('sae-alice');
  });

  it('is undefined when the peer sent no certificate (Node gives an empty object)', () => {
    expect(certificateIdentity({})).toBeUndefined();
    expect(certificateIdentity(null)).toBeUndefined();
  });

  it('is undefined for an empty or repeated common name, which names no single SAE or KME', () => {
    expect(certificateIdentity({ subject: { CN: '' } })).toBeUndefined();
    expect(certificateIdentity({ subject: { CN: ['sae-alice', 'sae-bob'] } })).toBeUndefined();
  });
});
