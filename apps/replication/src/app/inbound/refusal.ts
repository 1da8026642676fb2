import { EntropyUnavailable, KcvMismatch } from '@dqkd/blast';
import { SampleRefused, type RefusalReason } from '@dqkd/entropy';
import type { BlockRejection } from '@dqkd/messaging';

export interface Refusal {
  readonly reason: BlockRejection;
  /**
   * Someone must look: a kcv mismatch (the two ends disagree on the samples), or metadata only a faulty or
   * hostile peer sends.
   */
  readonly alarm: boolean;
}

/** Refusals that reading again can never turn into a sample. */
const FINAL_REFUSALS: readonly RefusalReason[] = [
  'unknown',
  'expired',
  'already-read',
  'not-yours',
  'not-a-kme',
];

/**
 * Whether a failed regeneration ends the block (rejected, burned at both ends) or is worth another try: an
 * entropy server that is out of reach or failing now may answer later, but a sample it refuses stays refused,
 * and a sample another server handed over is spent (the target's read is its second). Trying again in vain
 * would keep the message unacknowledged for as long as the stream keeps it, and enough such messages hold up
 * everything the peer sends after them (the consumer's limit of unacknowledged messages).
 */
export function regenerationRefusal(error: unknown): Refusal | undefined {
  if (error instanceof KcvMismatch) return { reason: 'kcv-mismatch', alarm: true };
  if (!(error instanceof EntropyUnavailable)) return undefined;
  const refused = [error.cause, ...error.otherCauses].some(
    (cause) => cause instanceof SampleRefused && FINAL_REFUSALS.includes(cause.reason),
  );
  return refused || error.answered > 0 ? { reason: 'samples-refused', alarm: false } : undefined;
}
