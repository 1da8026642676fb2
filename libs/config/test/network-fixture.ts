import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { ed25519 } from '@noble/curves/ed25519.js';
import { ml_kem768_x25519 } from '@noble/post-quantum/hybrid.js';

const base64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

export interface PublicKeys {
  kem_public_key: string;
  sig_public_key: string;
}

/** A fresh, real X-Wing and Ed25519 public key pair, as the network file holds them. */
export function freshPublicKeys(): PublicKeys {
  return {
    kem_public_key: base64(ml_kem768_x25519.keygen().publicKey),
    sig_public_key: base64(ed25519.keygen().publicKey),
  };
}

/** The `<kme>.sealing.pub.json` of the shared names, for the given keys. */
export function sealingPubJson(kmeId: string, keys: PublicKeys): string {
  return JSON.stringify({ version: 1, kme_id: kmeId, kem: 'X-Wing', sig: 'Ed25519', ...keys }, null, 2);
}

/** Writes throwaway `<kme>.sealing.pub.json` files into `dir`, as the development PKI would. */
export function writeSealingPubFiles(dir: string, kmeIds: readonly string[]): void {
  mkdirSync(dir, { recursive: true });
  for (const kmeId of kmeIds) {
    writeFileSync(path.join(dir, `${kmeId}.sealing.pub.json`), sealingPubJson(kmeId, freshPublicKeys()));
  }
}

const east = freshPublicKeys();
const west = freshPublicKeys();

/** A valid two-site network with inline keys, as a plain object that specs alter before serialising. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- specs reach into it to break single fields
export function validNetwork(): Record<string, any> {
  return {
    version: 1,
    kmes: [
      { id: 'kme-east', site: 'east', api_url: 'https://127.0.0.1:8443', public_keys: { ...east } },
      { id: 'kme-west', site: 'west', api_url: 'https://127.0.0.1:9443', public_keys: { ...west } },
    ],
    saes: [
      { id: 'sae-alice', certificate_cn: 'sae-alice', kme: 'kme-east' },
      { id: 'sae-bob', certificate_cn: 'sae-bob', kme: 'kme-west' },
      { id: 'sae-carol', certificate_cn: 'sae-carol', kme: 'kme-west' },
    ],
    entropy_servers: [1, 2, 3].map((n) => ({
      id: `entropy-${n}`,
      url: `https://entropy-${n}.example.net`,
      certificate_cn: `entropy-${n}`,
    })),
  };
}
