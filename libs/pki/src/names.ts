import { PkiError } from './errors';

export const DEFAULT_KME_IDS: readonly string[] = ['kme-east', 'kme-west'];
export const DEFAULT_SAE_IDS: readonly string[] = ['sae-alice', 'sae-bob', 'sae-carol'];
export const DEFAULT_ENTROPY_SERVER_IDS: readonly string[] = entropyServerIds(3);

// An ID becomes both a file name and a DNS SAN, so it must be a DNS label: no dots, slashes or spaces
// that could collide with another file of the folder or escape it.
const ID_PATTERN = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const RESERVED_IDS = new Set(['ca']);

export interface PkiIdentities {
  readonly kmes: readonly string[];
  readonly saes: readonly string[];
  readonly entropyServers: readonly string[];
}

export function entropyServerIds(count: number): string[] {
  return Array.from({ length: count }, (_, index) => `entropy-${index + 1}`);
}

/** Refuses IDs that are not DNS labels, the reserved `ca`, and any ID used twice (even across roles). */
export function validateIdentities(identities: PkiIdentities): void {
  const seen = new Set<string>();
  for (const id of [...identities.kmes, ...identities.saes, ...identities.entropyServers]) {
    if (!ID_PATTERN.test(id)) {
      throw new PkiError(
        'invalid-name',
        `"${id}" is not a valid ID: use letters, digits and inner hyphens, at most 63 characters`,
      );
    }
    const key = id.toLowerCase();
    if (RESERVED_IDS.has(key)) {
      throw new PkiError('invalid-name', `"${id}" is reserved for the certificate authority`);
    }
    if (seen.has(key)) {
      throw new PkiError(
        'duplicate-name',
        `"${id}" is named more than once; every KME, SAE and entropy server needs its own ID`,
      );
    }
    seen.add(key);
  }
}
