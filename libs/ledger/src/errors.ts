import { ConfigError, ENVIRONMENT } from '@dqkd/config';

/**
 * A setting the ledger needs is missing or malformed, named by its environment variable. A ConfigError, so
 * that a process that meets it while starting says so in one line, as for any bad setting.
 */
export class LedgerConfigError extends ConfigError {
  override readonly name = 'LedgerConfigError';

  constructor(variable: string, message: string) {
    super([{ source: ENVIRONMENT, path: variable, message }]);
  }
}

/**
 * Stored material cannot be decrypted: tampered or moved between rows, or wrapped under a KEK version the
 * keyring no longer holds. Never carries material or key bytes.
 */
export class MaterialIntegrityError extends Error {
  override readonly name = 'MaterialIntegrityError';

  constructor(
    readonly table: string,
    readonly rowId: string,
    reason: string,
    /** The row may be sound: the keyring lacks its KEK version (a keyring not yet rotated, say). */
    readonly kekMissing = false,
  ) {
    super(`material of ${table} row ${rowId} cannot be opened: ${reason}`);
  }
}

/** The embedded Postgres could not be prepared, started or stopped. */
export class EmbeddedPostgresError extends Error {
  override readonly name = 'EmbeddedPostgresError';
}

export type LedgerConflictReason =
  | 'key-id-taken'
  | 'bits-already-used'
  | 'unknown-reservation'
  | 'segments-not-on-link'
  | 'reservation-id-taken'
  | 'no-material'
  /** Bits outside their block or reservation, or numbers beyond the ledger's integers: never recordable. */
  | 'impossible-bits';

/** A write the ledger refused because it would break an invariant (a key ID or a bit used twice, …). */
export class LedgerConflictError extends Error {
  override readonly name = 'LedgerConflictError';

  constructor(
    readonly reason: LedgerConflictReason,
    message: string,
  ) {
    super(message);
  }
}
