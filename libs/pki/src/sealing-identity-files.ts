import { readFile } from 'node:fs/promises';

import {
  parseSealingIdentity,
  parseSealingPublicKeys,
  type SealingIdentity,
  type SealingPublicKeys,
} from './sealing-identity';

/** Reads and validates `<kme-id>.sealing.json` (sizes, version, public keys matching the secret ones). */
export async function loadSealingIdentity(path: string): Promise<SealingIdentity> {
  return parseSealingIdentity(await readFile(path, 'utf8'), path);
}

/** Reads and validates `<kme-id>.sealing.pub.json`. */
export async function loadSealingPublicKeys(path: string): Promise<SealingPublicKeys> {
  return parseSealingPublicKeys(await readFile(path, 'utf8'), path);
}
