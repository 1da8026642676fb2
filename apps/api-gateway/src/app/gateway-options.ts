/** What differs between deployments and test runs beyond the process environment. */
export interface GatewayOptions {
  /** Subject prefix of cross-site messages (default `dqkd`); tests give each run its own. */
  readonly subjectPrefix?: string;
  /** This KME's sealing identity (default `<pkiDir>/<kmeId>.sealing.json`, a mounted secret in production). */
  readonly sealingIdentityFile?: string;
  /** The variables the ledger opens from (default `process.env`); tests run two sites in one process. */
  readonly ledgerEnv?: NodeJS.ProcessEnv;
  /** How long a lease of bits is carved at most (default 30 s, see KeyIssuer); tests shorten it. */
  readonly leaseMaxAgeMs?: number;
  /**
   * Longest pause before dec_keys looks again for keys whose assignment has not arrived (default 50 ms; the
   * ledger's notification that keys were recorded ends it sooner). Tests lengthen it to tell the two apart.
   */
  readonly assignmentPollMs?: number;
  /**
   * How long a stopping gateway waits for the requests in flight before it closes their connections (default
   * 10 s, see ApiServer); tests shorten it.
   */
  readonly drainMs?: number;
}

export const GATEWAY_OPTIONS = Symbol('dqkd.api-gateway.options');
