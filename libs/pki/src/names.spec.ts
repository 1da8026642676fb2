import {
  DEFAULT_ENTROPY_SERVER_IDS,
  DEFAULT_KME_IDS,
  DEFAULT_SAE_IDS,
  entropyServerIds,
  validateIdentities,
} from './names';

const valid = { kmes: ['kme-east'], saes: ['sae-alice'], entropyServers: ['entropy-1'] };

describe('names', () => {
  it('defaults to the two-site demo network', () => {
    expect(DEFAULT_KME_IDS).toEqual(['kme-east', 'kme-west']);
    expect(DEFAULT_SAE_IDS).toEqual(['sae-alice', 'sae-bob', 'sae-carol']);
    expect(DEFAULT_ENTROPY_SERVER_IDS).toEqual(['entropy-1', 'entropy-2', 'entropy-3']);
  });

  it('numbers entropy servers from 1', () => {
    expect(entropyServerIds(2)).toEqual(['entropy-1', 'entropy-2']);
  });

  it('accepts DNS-label IDs', () => {
    expect(() => validateIdentities(valid)).not.toThrow();
    expect(() => validateIdentities({ ...valid, saes: ['SAE-42', 'b'] })).not.toThrow();
  });

  it.each(['../ca', 'sae.alice', 'sae alice', '-sae', 'sae-', '', 'a'.repeat(64)])(
    'refuses "%s", which is no DNS label and could escape or collide in the PKI folder',
    (id) => {
      expect(() => validateIdentities({ ...valid, saes: [id] })).toThrow(
        expect.objectContaining({ code: 'invalid-name' }),
      );
    },
  );

  it('refuses "ca", whose files belong to the certificate authority', () => {
    expect(() => validateIdentities({ ...valid, kmes: ['CA'] })).toThrow(/reserved/);
  });

  it('refuses an ID used for two parts, even in different roles or letter case', () => {
    expect(() => validateIdentities({ ...valid, saes: ['kme-east'] })).toThrow(
      expect.objectContaining({ code: 'duplicate-name' }),
    );
    expect(() => validateIdentities({ ...valid, saes: ['sae-alice', 'SAE-ALICE'] })).toThrow(
      /more than once/,
    );
  });
});
