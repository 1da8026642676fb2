import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const TAG_BYTES = 16;

export const IV_BYTES = 12;

/**
 * AES-256-GCM; the result is iv | ciphertext | tag so one bytea column holds everything needed to open it.
 * `iv` must be fresh random bytes (the default draws them).
 */
export function aeadSeal(
  key: Buffer,
  plaintext: Buffer,
  additionalData: Buffer,
  iv: Buffer = randomBytes(IV_BYTES),
): Buffer {
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(additionalData);
  const body = cipher.update(plaintext);
  cipher.final();
  return Buffer.concat([iv, body, cipher.getAuthTag()]);
}

/** Opens what aeadSeal produced; returns undefined when the data or its additional data were altered. */
export function aeadOpen(key: Buffer, sealed: Buffer, additionalData: Buffer): Buffer | undefined {
  if (sealed.length < IV_BYTES + TAG_BYTES) {
    return undefined;
  }
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, IV_BYTES));
  decipher.setAAD(additionalData);
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  const plaintext = decipher.update(sealed.subarray(IV_BYTES, sealed.length - TAG_BYTES));
  try {
    decipher.final();
    return plaintext;
  } catch {
    plaintext.fill(0);
    return undefined;
  }
}
