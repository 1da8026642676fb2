import type { NetworkConfig } from '@dqkd/config';
import { banner } from '@dqkd/embedded/dist/banner';

type Sites = Pick<NetworkConfig, 'kmes' | 'saes'>;

/** KME kme-east with the first SAEs, kme-west with the rest. */
function sites(east: string[], west: string[]): Sites {
  return {
    kmes: [
      { id: 'kme-east', apiUrl: 'https://127.0.0.1:8443' },
      { id: 'kme-west', apiUrl: 'https://127.0.0.1:9443' },
    ],
    saes: [
      ...east.map((id) => ({ id, kmeId: 'kme-east' })),
      ...west.map((id) => ({ id, kmeId: 'kme-west' })),
    ],
  } as unknown as Sites;
}

const tryIt = (text: string) => text.slice(text.indexOf('Try it'), text.indexOf('Ctrl-C'));

describe("npm start's banner", () => {
  it("gives the example's curl line and demo for Alice and Bob", () => {
    const text = banner(sites(['sae-alice'], ['sae-bob', 'sae-carol']), '/srv/dqkd/pki', [], undefined);
    expect(tryIt(text).trim().split('\n')).toEqual([
      'Try it (sae-alice asks kme-east for a key for sae-bob; sae-bob fetches it from kme-west by its key_ID):',
      '  curl --cacert /srv/dqkd/pki/ca.pem --cert /srv/dqkd/pki/sae-alice.pem --key /srv/dqkd/pki/sae-alice.key \\',
      '       https://127.0.0.1:8443/api/v1/keys/sae-bob/enc_keys',
      '  npx dqkd demo',
    ]);
  });

  it('follows SAEs renamed in the network file, and quotes paths a shell would split', () => {
    const text = banner(
      sites(['billing'], ['ledger-b']),
      "/home/o'neil/my dqkd/pki",
      [],
      "/home/o'neil/my dqkd",
    );
    const lines = tryIt(text).trim().split('\n');
    expect(lines[1]).toBe(
      `  curl --cacert '/home/o'\\''neil/my dqkd/pki/ca.pem' --cert '/home/o'\\''neil/my dqkd/pki/billing.pem' ` +
        `--key '/home/o'\\''neil/my dqkd/pki/billing.key' \\`,
    );
    expect(lines[2]).toBe('       https://127.0.0.1:8443/api/v1/keys/ledger-b/enc_keys');
    expect(lines[3]).toBe(
      `  npx dqkd demo --home '/home/o'\\''neil/my dqkd' --master billing --slave ledger-b`,
    );
  });

  it('offers no try-it lines when no two KMEs have SAEs', () => {
    expect(banner(sites(['sae-alice'], []), '/pki', [], undefined)).not.toContain('Try it');
  });
});
