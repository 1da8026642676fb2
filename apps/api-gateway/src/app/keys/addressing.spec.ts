import { parseNetwork } from '@dqkd/config';

import { requestLimits, resolveAddressees, resolvePeerKme } from './addressing';

const publicKeys = `{ kem_public_key: ${Buffer.alloc(1216, 1).toString('base64')}, sig_public_key: ${Buffer.alloc(32, 2).toString('base64')} }`;
const network = parseNetwork(
  `version: 1
kmes:
  - { id: kme-east, site: east, api_url: https://127.0.0.1:8443, public_keys: ${publicKeys} }
  - { id: kme-west, site: west, api_url: https://127.0.0.1:9443, public_keys: ${publicKeys} }
  - { id: kme-north, site: north, api_url: https://127.0.0.1:7443, public_keys: ${publicKeys} }
saes:
  - { id: sae-alice, certificate_cn: sae-alice, kme: kme-east }
  - { id: sae-bob, certificate_cn: sae-bob, kme: kme-west }
  - { id: sae-carol, certificate_cn: sae-carol, kme: kme-west }
  - { id: sae-dave, certificate_cn: sae-dave, kme: kme-north }
entropy_servers:
  - { id: entropy-1, url: http://127.0.0.1:7101, certificate_cn: entropy-1 }
  - { id: entropy-2, url: http://127.0.0.1:7102, certificate_cn: entropy-2 }
  - { id: entropy-3, url: http://127.0.0.1:7103, certificate_cn: entropy-3 }
`,
  { file: 'network.yaml', location: '/network.yaml', readFile: () => '' },
);

describe('resolveAddressees', () => {
  it('makes keys for the SAE the path names, on its KME', () => {
    expect(resolveAddressees(network, 'kme-east', 'sae-bob', [])).toEqual({
      ok: true,
      value: { targetKmeId: 'kme-west', slaves: [{ kind: 'sae', id: 'sae-bob' }] },
    });
  });

  it('makes keys for any SAE of a peer KME when the path names that KME', () => {
    expect(resolveAddressees(network, 'kme-east', 'kme-west', [])).toEqual({
      ok: true,
      value: { targetKmeId: 'kme-west', slaves: [{ kind: 'kme', id: 'kme-west' }] },
    });
  });

  it('adds the additional slaves of a multicast', () => {
    const resolved = resolveAddressees(network, 'kme-east', 'sae-bob', ['sae-carol']);
    expect(resolved.ok && resolved.value.slaves).toEqual([
      { kind: 'sae', id: 'sae-bob' },
      { kind: 'sae', id: 'sae-carol' },
    ]);
  });

  it('refuses an unknown ID', () => {
    expect(resolveAddressees(network, 'kme-east', 'sae-nobody', [])).toEqual({
      ok: false,
      error: { kind: 'unknown-sae', member: 'slave_SAE_ID', saeId: 'sae-nobody' },
    });
    expect(resolveAddressees(network, 'kme-east', 'sae-bob', ['kme-west'])).toMatchObject({
      ok: false,
      error: { kind: 'unknown-sae', member: 'additional_slave_SAE_IDs' },
    });
  });

  it('refuses a slave on the caller’s own KME', () => {
    expect(resolveAddressees(network, 'kme-east', 'sae-alice', [])).toMatchObject({
      ok: false,
      error: { kind: 'slave-on-own-kme' },
    });
    expect(resolveAddressees(network, 'kme-east', 'kme-east', [])).toMatchObject({
      ok: false,
      error: { kind: 'slave-on-own-kme' },
    });
    expect(resolveAddressees(network, 'kme-east', 'sae-bob', ['sae-alice'])).toMatchObject({
      ok: false,
      error: { kind: 'slave-on-own-kme' },
    });
  });

  it('refuses slaves on two KMEs, and the path slave named again', () => {
    expect(resolveAddressees(network, 'kme-east', 'sae-bob', ['sae-dave'])).toEqual({
      ok: false,
      error: { kind: 'slaves-on-several-kmes' },
    });
    expect(resolveAddressees(network, 'kme-east', 'sae-bob', ['sae-bob'])).toEqual({
      ok: false,
      error: { kind: 'duplicate-additional-slave', saeId: 'sae-bob', ofPath: true },
    });
  });
});

describe('resolvePeerKme', () => {
  it('answers the KME of an SAE, or the KME named', () => {
    expect(resolvePeerKme(network, 'kme-west', 'sae-alice', 'master_SAE_ID')).toEqual({
      ok: true,
      value: 'kme-east',
    });
    expect(resolvePeerKme(network, 'kme-west', 'kme-east', 'master_SAE_ID')).toEqual({
      ok: true,
      value: 'kme-east',
    });
  });
});

describe('requestLimits', () => {
  const maxSaeIdCount = (target: string) => requestLimits(network, 'kme-east', target)?.maxSaeIdCount;

  it('caps max_SAE_ID_count at the SAEs of the target KME but one, whether the path names an SAE or the KME', () => {
    expect(network.linkLimits('kme-east', 'kme-west')?.maxSaeIdCount).toBe(8);
    // Beside sae-bob only sae-carol; beside kme-west one of them, so that the other can take the KME's entry.
    expect(maxSaeIdCount('kme-west')).toBe(1);
    expect(maxSaeIdCount('kme-north')).toBe(0);
  });

  it('keeps the link limit when it is the lower, and every other limit as it is', () => {
    const limits = { ...network.linkLimits('kme-east', 'kme-west')!, maxSaeIdCount: 0 };
    const capped = requestLimits(
      { ...network, linkLimits: () => limits } as typeof network,
      'kme-east',
      'kme-west',
    );
    expect(capped).toEqual(limits);
    expect(requestLimits(network, 'kme-east', 'kme-mars')).toBeUndefined();
  });
});
