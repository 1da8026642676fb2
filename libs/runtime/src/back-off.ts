/** The next delay of a retry that doubles: `minMs` the first time, then twice the last, `maxMs` at most. */
export function nextBackOffMs(lastMs: number | undefined, minMs: number, maxMs: number): number {
  return lastMs === undefined ? minMs : Math.min(2 * lastMs, maxMs);
}
