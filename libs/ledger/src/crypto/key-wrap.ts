import { createCipheriv, createDecipheriv, createHash } from 'node:crypto';

/** A wrapped 256-bit data key: RFC 3394 adds one 64-bit block. */
export const WRAPPED_KEY_BYTES = 40;

const CIPHER = 'id-aes256-wrap';

/**
 * AES-256 key wrap (RFC 3394, NIST SP 800-38F's KW) of a data key under a KEK. Deterministic, so no IV is drawn
 * and no count of wraps under one KEK brings random IVs near a collision, as AES-GCM's 96-bit random IVs do
 * after 2^32 wraps (a few days of a busy site). The additional data (table, row, KEK version) binds the wrap
 * to its row: its SHA-256, cut to 64 bits, is the wrap's integrity check value (RFC 3394 §2.2.3.2), so a
 * wrapped key moved to another row does not unwrap. Data keys are fresh random bytes per row, so equal wraps
 * never occur.
 */
export function wrapKey(kek: Buffer, dataKey: Buffer, additionalData: Buffer): Buffer {
  const cipher = createCipheriv(CIPHER, kek, checkValue(additionalData));
  return Buffer.concat([cipher.update(dataKey), cipher.final()]);
}

/** The data key wrapKey wrapped; undefined when the wrap, the KEK or the additional data differ. */
export function unwrapKey(kek: Buffer, wrapped: Buffer, additionalData: Buffer): Buffer | undefined {
  if (wrapped.length !== WRAPPED_KEY_BYTES) return undefined;
  const decipher = createDecipheriv(CIPHER, kek, checkValue(additionalData));
  try {
    // OpenSSL checks the integrity value within update: a mismatch throws there.
    return Buffer.concat([decipher.update(wrapped), decipher.final()]);
  } catch {
    return undefined;
  }
}

function checkValue(additionalData: Buffer): Buffer {
  return createHash('sha256').update(additionalData).digest().subarray(0, 8);
}
