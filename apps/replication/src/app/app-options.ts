/** What differs between deployments and test runs beyond the process environment. */
export interface AppOptions {
  /** Subject and stream prefix of cross-site messages (default `dqkd`); tests give each run its own. */
  readonly subjectPrefix?: string;
  /** The variables the ledger opens from (default `process.env`); tests run two sites in one process. */
  readonly ledgerEnv?: NodeJS.ProcessEnv;
}
