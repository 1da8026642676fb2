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
