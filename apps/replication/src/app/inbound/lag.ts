import type { Histogram } from '@dqkd/metrics';

/** What replication lag is measured on: a block's metadata and a key assignment. */
export const LAGGING_KINDS = ['metadata', 'assignment'] as const;
export type LaggingKind = (typeof LAGGING_KINDS)[number];

/** Seconds, from 1 ms: within a region pair a message crosses in milliseconds; the alert fires at 5 s. */
export const LAG_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/**
 * Observes how long ago the source sent what was just applied here: `sentAt` is the source's own clock
 * (metadata's createdAt, an assignment's issue time), so the value includes any clock skew between the
 * sites (dqkd_peer_clock_skew_seconds shows it). An assignment from a source that does not stamp its issue
 * time yet is not observed. A negative difference (skew) counts as 0.
 */
export function observeLag(
  lag: Histogram,
  kind: LaggingKind,
  sentAt: Date | number | undefined,
  now: number = Date.now(),
): void {
  if (sentAt === undefined) return;
  const sent = typeof sentAt === 'number' ? sentAt : sentAt.getTime();
  lag.observe({ kind }, Math.max(0, now - sent) / 1000);
}
