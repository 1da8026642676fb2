import type { Key, KeyContainer } from './dto';

/** One key to hand to an SAE. */
export interface DeliveredKey {
  readonly keyId: string;
  readonly material: Uint8Array;
  /** The decode deadline, shown to the SAE as `key_extension.dqkd_expires_at`. */
  readonly expiresAt?: Date;
}

/** The Key container answer (Table 11): material in padded Base64 (RFC 4648), as §4 requires. */
export function buildKeyContainer(keys: readonly DeliveredKey[]): KeyContainer {
  return {
    keys: keys.map((key): Key => ({
      key_ID: key.keyId,
      key: Buffer.from(key.material.buffer, key.material.byteOffset, key.material.byteLength).toString(
        'base64',
      ),
      ...(key.expiresAt && { key_extension: { dqkd_expires_at: key.expiresAt.toISOString() } }),
    })),
  };
}
