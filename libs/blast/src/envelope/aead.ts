import { createCipheriv, createDecipheriv, createHash, hkdfSync } from 'node:crypto';

const KDF_LABEL = Buffer.from('DQKD sealed envelope v2: AES-256-GCM key and nonce', 'utf8');
const KEY_BYTES = 32;
const NONCE_BYTES = 12;
export const TAG_BYTES = 16;
/** Random per envelope, so envelopes that share a KEM shared secret never share a key or nonce. */
export const SALT_BYTES = 16;

export interface EnvelopeKey {
  readonly key: Uint8Array;
  readonly nonce: Uint8Array;
}

/**
 * HKDF-SHA-256 from the KEM shared secret with the envelope's random 16-byte salt, and the header's hash in
 * `info` (Node caps `info` at 1024 bytes). A shared secret may serve several envelopes (see Encapsulation);
 * their salts differ, so no two envelopes get the same key, and a nonce is never used twice under one key.
 */
export function deriveEnvelopeKey(
  sharedSecret: Uint8Array,
  salt: Uint8Array,
  header: Uint8Array,
): EnvelopeKey {
  const info = Buffer.concat([KDF_LABEL, createHash('sha256').update(header).digest()]);
  const okm = new Uint8Array(hkdfSync('sha256', sharedSecret, salt, info, KEY_BYTES + NONCE_BYTES));
  const derived = { key: okm.slice(0, KEY_BYTES), nonce: okm.slice(KEY_BYTES) };
  okm.fill(0);
  return derived;
}

/** AES-256-GCM; the result is ciphertext followed by the 16-byte tag. */
export function aeadSeal(key: EnvelopeKey, additionalData: Uint8Array, plaintext: Uint8Array): Uint8Array {
  const cipher = createCipheriv('aes-256-gcm', key.key, key.nonce, { authTagLength: TAG_BYTES }).setAAD(
    additionalData,
  );
  return new Uint8Array(Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]));
}

/** The plaintext, or undefined when the tag does not verify. */
export function aeadOpen(
  key: EnvelopeKey,
  additionalData: Uint8Array,
  sealed: Uint8Array,
): Uint8Array | undefined {
  const decipher = createDecipheriv('aes-256-gcm', key.key, key.nonce, { authTagLength: TAG_BYTES })
    .setAAD(additionalData)
    .setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  const plaintext = decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES));
  try {
    // GCM's final() only checks the tag: it adds no bytes.
    decipher.final();
    // The one copy the caller gets, and zeroes: the plaintext may be samples, and no other copy may linger.
    return new Uint8Array(plaintext);
  } catch {
    return undefined;
  } finally {
    plaintext.fill(0);
  }
}
