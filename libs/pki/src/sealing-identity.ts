import { ed25519 } from '@noble/curves/ed25519.js';
import { ml_kem768_x25519 } from '@noble/post-quantum/hybrid.js';

import { PkiError } from './errors';

export const SEALING_IDENTITY_VERSION = 1;
export const SEALING_KEM = 'X-Wing';
export const SEALING_SIGNATURE = 'Ed25519';
export const X_WING_PUBLIC_KEY_BYTES = 1216;
export const X_WING_SECRET_KEY_BYTES = 32;
export const ED25519_PUBLIC_KEY_BYTES = 32;
export const ED25519_SECRET_KEY_BYTES = 32;

/** What others need to seal to a KME and to check its signatures. */
export interface SealingPublicKeys {
  readonly kmeId: string;
  readonly kemPublicKey: Uint8Array;
  readonly sigPublicKey: Uint8Array;
}

/** A KME's own sealing keys: X-Wing to open envelopes addressed to it, Ed25519 to sign what it sends. */
export interface SealingIdentity extends SealingPublicKeys {
  readonly kemSecretKey: Uint8Array;
  readonly sigSecretKey: Uint8Array;
}

export function generateSealingIdentity(kmeId: string): SealingIdentity {
  const kem = ml_kem768_x25519.keygen();
  const sig = ed25519.keygen();
  return {
    kmeId,
    kemPublicKey: kem.publicKey,
    kemSecretKey: kem.secretKey,
    sigPublicKey: sig.publicKey,
    sigSecretKey: sig.secretKey,
  };
}

export function sealingPublicKeysOf(identity: SealingPublicKeys): SealingPublicKeys {
  return { kmeId: identity.kmeId, kemPublicKey: identity.kemPublicKey, sigPublicKey: identity.sigPublicKey };
}

/** The secret file's JSON text (see README: sealing identity file format). */
export function encodeSealingIdentity(identity: SealingIdentity): string {
  const document = {
    version: SEALING_IDENTITY_VERSION,
    kme_id: identity.kmeId,
    kem: SEALING_KEM,
    kem_public_key: toBase64(identity.kemPublicKey),
    kem_secret_key: toBase64(identity.kemSecretKey),
    sig: SEALING_SIGNATURE,
    sig_public_key: toBase64(identity.sigPublicKey),
    sig_secret_key: toBase64(identity.sigSecretKey),
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}

/** The public file's JSON text: the secret file without its two secret fields. */
export function encodeSealingPublicKeys(keys: SealingPublicKeys): string {
  const document = {
    version: SEALING_IDENTITY_VERSION,
    kme_id: keys.kmeId,
    kem: SEALING_KEM,
    kem_public_key: toBase64(keys.kemPublicKey),
    sig: SEALING_SIGNATURE,
    sig_public_key: toBase64(keys.sigPublicKey),
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}

/**
 * Parses a secret sealing identity and refuses it unless every field has the expected type and size and
 * both public keys are the ones derived from the secret keys (a file mixed from two identities would seal
 * to one KME and sign as another).
 */
export function parseSealingIdentity(text: string, source = 'sealing identity'): SealingIdentity {
  const fields = readDocument(text, source);
  const publicKeys = readPublicFields(fields, source);
  const kemSecretKey = readKey(fields, 'kem_secret_key', X_WING_SECRET_KEY_BYTES, source);
  const sigSecretKey = readKey(fields, 'sig_secret_key', ED25519_SECRET_KEY_BYTES, source);
  if (!equalBytes(ml_kem768_x25519.getPublicKey(kemSecretKey), publicKeys.kemPublicKey)) {
    throw invalid(source, 'kem_public_key does not belong to kem_secret_key');
  }
  if (!equalBytes(ed25519.getPublicKey(sigSecretKey), publicKeys.sigPublicKey)) {
    throw invalid(source, 'sig_public_key does not belong to sig_secret_key');
  }
  return { ...publicKeys, kemSecretKey, sigSecretKey };
}

/** Parses a public sealing key file; refuses one that carries secret keys, since it is meant to be shared. */
export function parseSealingPublicKeys(text: string, source = 'sealing public keys'): SealingPublicKeys {
  const fields = readDocument(text, source);
  for (const secret of ['kem_secret_key', 'sig_secret_key']) {
    if (secret in fields) {
      throw invalid(source, `it holds ${secret}; share the .sealing.pub.json file, never the secret one`);
    }
  }
  return readPublicFields(fields, source);
}

function readDocument(text: string, source: string): Record<string, unknown> {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    throw invalid(source, 'it is not JSON');
  }
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    throw invalid(source, 'it is not a JSON object');
  }
  return document as Record<string, unknown>;
}

function readPublicFields(fields: Record<string, unknown>, source: string): SealingPublicKeys {
  if (fields.version !== SEALING_IDENTITY_VERSION) {
    throw invalid(
      source,
      `version must be ${SEALING_IDENTITY_VERSION}, found ${JSON.stringify(fields.version)}`,
    );
  }
  if (typeof fields.kme_id !== 'string' || fields.kme_id === '') {
    throw invalid(source, 'kme_id must be a non-empty string');
  }
  if (fields.kem !== SEALING_KEM) {
    throw invalid(source, `kem must be "${SEALING_KEM}", found ${JSON.stringify(fields.kem)}`);
  }
  if (fields.sig !== SEALING_SIGNATURE) {
    throw invalid(source, `sig must be "${SEALING_SIGNATURE}", found ${JSON.stringify(fields.sig)}`);
  }
  return {
    kmeId: fields.kme_id,
    kemPublicKey: readKey(fields, 'kem_public_key', X_WING_PUBLIC_KEY_BYTES, source),
    sigPublicKey: readKey(fields, 'sig_public_key', ED25519_PUBLIC_KEY_BYTES, source),
  };
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function readKey(fields: Record<string, unknown>, name: string, bytes: number, source: string): Uint8Array {
  const value = fields[name];
  if (typeof value !== 'string' || !BASE64.test(value)) {
    throw invalid(source, `${name} must be standard padded base64`);
  }
  const decoded = Buffer.from(value, 'base64');
  // Node ignores stray bits in the last character; only the canonical encoding is accepted.
  if (decoded.toString('base64') !== value) {
    throw invalid(source, `${name} is not canonical base64`);
  }
  if (decoded.length !== bytes) {
    throw invalid(source, `${name} must be ${bytes} bytes, found ${decoded.length}`);
  }
  return new Uint8Array(decoded);
}

function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a).equals(Buffer.from(b));
}

function invalid(source: string, reason: string): PkiError {
  return new PkiError('invalid-sealing-identity', `${source} is invalid: ${reason}`);
}
