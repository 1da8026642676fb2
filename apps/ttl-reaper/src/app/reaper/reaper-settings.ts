import { ConfigError, ENVIRONMENT, type Environment } from '@dqkd/config';
import { MAX_TTL_SECONDS } from '@dqkd/etsi014';
import { AUDIT_FLOOR_DAYS } from '@dqkd/ledger';

export interface ReaperSettings {
  /** Time between rounds (ms). */
  readonly intervalMs: number;
  /**
   * How long a target keeps a block past its deadline, so that an assignment the source made just before the
   * deadline still finds its bits here. The default is the longest TTL: a key carved at its block's deadline
   * is decodable for up to an hour after it, and its assignment, delayed by a peer or link that was down,
   * must still apply until then (a peer catches up within the TTL).
   */
  readonly targetGraceMs: number;
  /** Keys and blocks per transaction, so one round holds row locks only briefly. */
  readonly batchSize: number;
  /** Inbox entries older than this are forgotten; longer than any redelivery (the streams keep 2 h). */
  readonly inboxRetentionMs: number;
  /**
   * Audit events older than this many days are deleted; the ledger refuses to delete younger than a week. Keep
   * an archive (a copy of the older rows) where the events must outlive it.
   */
  readonly auditRetentionDays: number;
}

/** A key's TTL at most (dqkd_ttl): the grace that keeps every key decodable through any delay that it outlives. */
export const LONGEST_TTL_MS = MAX_TTL_SECONDS * 1000;

const VARIABLES: Record<keyof ReaperSettings, [name: string, fallback: number, min: number, max: number]> = {
  intervalMs: ['DQKD_REAPER_INTERVAL_MS', 10_000, 50, 3_600_000],
  targetGraceMs: ['DQKD_TARGET_GRACE_MS', LONGEST_TTL_MS, 0, LONGEST_TTL_MS],
  batchSize: ['DQKD_REAPER_BATCH_SIZE', 1000, 1, 100_000],
  inboxRetentionMs: ['DQKD_INBOX_RETENTION_MS', 3 * 3_600_000, 2 * 3_600_000, 30 * 24 * 3_600_000],
  auditRetentionDays: ['DQKD_AUDIT_RETENTION_DAYS', 90, AUDIT_FLOOR_DAYS, 36_500],
};

/** The reaper's tuning from the environment, every value a bounded integer; a bad one stops the process. */
export function reaperSettings(env: Environment): ReaperSettings {
  const issues: { source: string; path: string; message: string }[] = [];
  const entries = Object.entries(VARIABLES).map(([field, [name, fallback, min, max]]) => {
    const text = env[name]?.trim();
    if (!text) return [field, fallback];
    const value = Number(text);
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      issues.push({ source: ENVIRONMENT, path: name, message: `must be an integer from ${min} to ${max}` });
    }
    return [field, value];
  });
  if (issues.length > 0) throw new ConfigError(issues);
  return Object.fromEntries(entries) as ReaperSettings;
}
