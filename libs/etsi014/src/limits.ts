/**
 * The limits of one link that shape ETSI requests and answers. The names match `LinkLimits` of
 * `@dqkd/config`, so a link's configured limits can be passed as they are.
 */
export interface EtsiLimits {
  /** Default key size in bits (ETSI `key_size`). */
  readonly keySize: number;
  readonly minKeySize: number;
  readonly maxKeySize: number;
  readonly maxKeyPerRequest: number;
  readonly maxKeyCount: number;
  /** Additional slave SAEs allowed per request (ETSI `max_SAE_ID_count`); 0 = no multicast. */
  readonly maxSaeIdCount: number;
  /** Decode deadline, in seconds after enc_keys, when the request names none. */
  readonly defaultTtlSeconds: number;
  /** Longest decode deadline a request may ask for (at most one hour). */
  readonly maxTtlSeconds: number;
  readonly maxKeyIdsPerRequest: number;
}

/** The longest time-to-live DQKD grants at all, whatever a link's limits say. */
export const MAX_TTL_SECONDS = 3600;
