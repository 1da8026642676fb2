/** A token bucket per caller: `burst` requests at once, refilled at `perSecond`. Pure; the clock is passed in. */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly limits: (caller: string) => { perSecond: number; burst: number }) {}

  /** Takes one token for `caller` at `nowMs`; false when its bucket is empty. */
  take(caller: string, nowMs: number): boolean {
    const { perSecond, burst } = this.limits(caller);
    const bucket = this.buckets.get(caller) ?? { tokens: burst, at: nowMs };
    const tokens = Math.min(burst, bucket.tokens + (Math.max(0, nowMs - bucket.at) / 1000) * perSecond);
    if (tokens < 1) {
      this.buckets.set(caller, { tokens, at: nowMs });
      return false;
    }
    this.buckets.set(caller, { tokens: tokens - 1, at: nowMs });
    return true;
  }
}
