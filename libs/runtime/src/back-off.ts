/**
 * When an operation that failed may be tried again: each failure holds the next try back for twice the last
 * delay (`minMs` the first time, `maxMs` at most), and a try that went through ends the wait. Times are passed
 * in, so a caller's clock (and a test's) is the only one.
 */
export class BackOff {
  private failuresInRow = 0;
  private until = 0;

  constructor(
    private readonly minMs: number,
    private readonly maxMs: number,
  ) {}

  /** Failed tries since the last that went through. */
  get failures(): number {
    return this.failuresInRow;
  }

  /** Whether a try may start at `now`. */
  ready(now: number): boolean {
    return now >= this.until;
  }

  /** A try failed at `now`: holds the next back and answers for how long. */
  failed(now: number): number {
    this.failuresInRow += 1;
    const delayMs = Math.min(this.minMs * 2 ** (this.failuresInRow - 1), this.maxMs);
    this.until = now + delayMs;
    return delayMs;
  }

  /** A try went through: the next may start at once, and a failure waits `minMs` again. */
  succeeded(): void {
    this.failuresInRow = 0;
    this.until = 0;
  }
}
