import { poolCeilingBits } from '@dqkd/config';

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
