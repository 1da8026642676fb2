/** The Postgres notification channel on which a site's ledger announces newly recorded target keys. */
export const KEYS_RECORDED_CHANNEL = 'dqkd_keys_recorded';
