import { EntropyUnavailable, KcvMismatch } from '@dqkd/blast';
import { SampleRefused, type RefusalReason } from '@dqkd/entropy';
import type { BlockRejection } from '@dqkd/messaging';

export interface Refusal {
  readonly reason: BlockRejection;
  /** A kcv mismatch means the two ends disagree on the samples: someone must look. */
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
 * entropy server that is out of reach or failing now may answer later, but a sample it refuses stays refused.
 */
export function regenerationRefusal(error: unknown): Refusal | undefined {
  if (error instanceof KcvMismatch) return { reason: 'kcv-mismatch', alarm: true };
  if (
    error instanceof EntropyUnavailable &&
    error.cause instanceof SampleRefused &&
    FINAL_REFUSALS.includes(error.cause.reason)
  ) {
    return { reason: 'samples-refused', alarm: false };
  }
  return undefined;
}
