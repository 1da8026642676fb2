/** What differs between deployments and test runs beyond the process environment. */
export interface AppOptions {
  /** The variables the ledger opens from (default `process.env`); tests run two sites in one process. */
  readonly ledgerEnv?: NodeJS.ProcessEnv;
}
