/** The Postgres notification channel on which a site's ledger announces newly recorded target keys. */
export const KEYS_RECORDED_CHANNEL = 'dqkd_keys_recorded';

/**
 * The channel on which a site's gateways tell its key-generators that a link's pool could not cover a request:
 * the payload is `<link id>:<bits asked for>`.
 */
export const POOL_SHORT_CHANNEL = 'dqkd_pool_short';
