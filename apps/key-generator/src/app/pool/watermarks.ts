import { poolCeilingBits } from '@dqkd/config';
import type { LinkAnswer } from '@dqkd/ledger';

export interface Watermarks {
  readonly lowWatermarkBits: number;
  readonly highWatermarkBits: number;
}

/**
 * Blocks to make now so that a link's pool (ready plus pending bits) is back at its high watermark;
 * none while it is still at or above the low one, so the generator works in bursts, not block by block.
 */
export function blocksToGenerate(poolBits: number, watermarks: Watermarks, blockBits: number): number {
  if (poolBits >= watermarks.lowWatermarkBits) return 0;
  return Math.ceil((watermarks.highWatermarkBits - poolBits) / blockBits);
}

/**
 * The watermarks while a gateway waits for `shortBits` that the pool could not cover: the pool is filled until
 * it holds them too, even above its low watermark (a request of more bits than the low watermark would
 * otherwise wait until other requests drained the pool below it), but never beyond the pool's ceiling
 * (poolCeilingBits), however many requests a gateway counted together.
 */
export function withShortage(
  watermarks: Watermarks,
  shortBits: number | undefined,
  blockBits: number,
): Watermarks {
  if (shortBits === undefined || shortBits < watermarks.lowWatermarkBits) return watermarks;
  const wanted = Math.min(shortBits, poolCeilingBits(watermarks.highWatermarkBits, blockBits));
  return {
    lowWatermarkBits: wanted,
    highWatermarkBits: Math.max(watermarks.highWatermarkBits, wanted),
  };
}

/**
 * The blocks to make of `wanted` while the target does not answer (its last blocks burned unconfirmed: it, or
 * its replication, is down) or rejects what it gets (it cannot read an entropy server, say): one block at a
 * time, as a probe, and none while one waits. Otherwise each acknowledgement timeout, or each rejection, would
 * burn a whole pool and make it again, leasing every entropy server's samples for nothing; the probe's
 * confirmation, once the target is back, lets the next round fill the link. (PoolFiller spaces probes too.)
 */
export function whileUnanswered(wanted: number, answer: LinkAnswer): number {
  if (!answer.unanswered) return wanted;
  return answer.pending === 0 ? Math.min(wanted, 1) : 0;
}
