/**
 * The most a link's pool can ever hold: the key-generator refills it to its high watermark in whole blocks,
 * and a burst's blocks are replaced before they stop counting, so for a while it holds two bursts. A request
 * beyond it is refused at once, and no shortage makes a key-generator fill beyond it.
 */
export function poolCeilingBits(highWatermarkBits: number, blockBits: number): number {
  return 2 * (highWatermarkBits + blockBits);
}
