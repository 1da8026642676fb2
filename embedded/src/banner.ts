import * as path from 'node:path';

import type { NetworkConfig } from '@dqkd/config';

/** What `npm start` prints once the ETSI ports are open. `home` is given when it is not `.dqkd`. */
export function banner(
  { kmes, saes }: Pick<NetworkConfig, 'kmes' | 'saes'>,
  pkiDir: string,
  metrics: readonly { readonly name: string; readonly url: string }[],
  home: string | undefined,
): string {
  const homeFlag = home === undefined ? '' : ` --home ${shellWord(home)}`;
  const lines = [
    '',
    'DQKD is running: two sites on this machine, key material never crossing between them.',
    '',
    ...kmes.map(
      (kme) =>
        `  ${kme.id.padEnd(9)} ETSI GS QKD 014 API ${kme.apiUrl}  SAEs: ${saes
          .filter((sae) => sae.kmeId === kme.id)
          .map((sae) => sae.id)
          .join(', ')}`,
    ),
    `  PKI        ${pkiDir} (ca.pem; <sae>.pem, <sae>.key, <sae>.p12 with an empty password)`,
    '',
    ...metrics.map(({ name, url }) => `  metrics ${name}: ${url}/metrics`),
    ...tryIt({ kmes, saes }, pkiDir, homeFlag),
    '',
    'Ctrl-C stops everything.',
  ];
  return `${lines.join('\n')}\n`;
}

/**
 * The curl line and the demo, for the first SAE of the first KME and the first SAE of another KME: the
 * network file of the home may have been edited since the example's Alice and Bob.
 */
function tryIt(
  { kmes, saes }: Pick<NetworkConfig, 'kmes' | 'saes'>,
  pkiDir: string,
  homeFlag: string,
): string[] {
  const master = saes.find((sae) => sae.kmeId === kmes[0]?.id);
  const slave = saes.find((sae) => master !== undefined && sae.kmeId !== master.kmeId);
  if (master === undefined || slave === undefined) return [];
  const file = (name: string) => shellWord(path.join(pkiDir, name));
  const pair =
    master.id === 'sae-alice' && slave.id === 'sae-bob' ? '' : ` --master ${master.id} --slave ${slave.id}`;
  return [
    '',
    `Try it (${master.id} asks ${master.kmeId} for a key for ${slave.id}; ${slave.id} fetches it from ` +
      `${slave.kmeId} by its key_ID):`,
    `  curl --cacert ${file('ca.pem')} --cert ${file(`${master.id}.pem`)} --key ${file(`${master.id}.key`)} \\`,
    `       ${kmes[0]!.apiUrl}/api/v1/keys/${slave.id}/enc_keys`,
    `  npx dqkd demo${homeFlag}${pair}`,
  ];
}

/** A path as one shell word: quoted when it holds anything but the characters a shell leaves alone. */
export function shellWord(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`;
}
