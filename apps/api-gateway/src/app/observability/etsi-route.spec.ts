import { etsiRoute } from './etsi-route';

describe('etsiRoute', () => {
  it('names the ETSI route of a path without its SAE ID', () => {
    expect(etsiRoute('/api/v1/keys/sae-bob/enc_keys')).toBe('enc_keys');
    expect(etsiRoute('/api/v1/keys/sae-alice/dec_keys')).toBe('dec_keys');
    expect(etsiRoute('/api/v1/keys/kme-west/status')).toBe('status');
    expect(etsiRoute('/api/v1/openapi.json')).toBe('openapi');
  });

  it('puts every other path under one value', () => {
    expect(etsiRoute('/health/ready')).toBe('other');
    expect(etsiRoute('/api/v1/keys/a/b/enc_keys')).toBe('other');
  });
});
