/**
 * Seconds of its rate a KME may lease at once: a key-generator filling its links from empty at start, or after
 * a shortage, leases more than a second's worth (64 blocks of 256 kbit take 2.2 MB from each server, against a
 * default rate of 2 MiB a second), and a refused lease wastes the samples it leased from the other servers.
 */
const BURST_SECONDS = 5;

interface Bucket {
  bytes: number;
  at: number;
}

/**
 * Bytes each KME may lease, as token buckets with the clock passed in (as PoolStore takes it): without them a
 * KME leasing samples that expire at once uses up pool bytes as fast as the server refills them, and the other
 * KMEs' links starve. A bucket holds BURST_SECONDS of the rate, and never less than one pool, so that any lease a
 * pool can serve is served in time.
 */
export class LeaseRate {
  private readonly buckets = new Map<string, Bucket>();
  private readonly capacity: number;

  /** `bytesPerSecond` per KME; `poolBytes`, the largest lease there can be. */
  constructor(
    private readonly bytesPerSecond: number,
    poolBytes: number,
  ) {
    this.capacity = Math.max(BURST_SECONDS * bytesPerSecond, poolBytes);
  }

  /** Milliseconds until `caller` may lease `bytes`; 0 when it may now. */
  waitMs(caller: string, bytes: number, now: number): number {
    const missing = bytes - this.fill(caller, now).bytes;
    return missing <= 0 ? 0 : Math.ceil((missing * 1000) / this.bytesPerSecond);
  }

  /** Counts a lease served. */
  take(caller: string, bytes: number, now: number): void {
    this.fill(caller, now).bytes -= bytes;
  }

  private fill(caller: string, now: number): Bucket {
    let bucket = this.buckets.get(caller);
    if (bucket === undefined) {
      bucket = { bytes: this.capacity, at: now };
      this.buckets.set(caller, bucket);
    }
    // A clock that steps back refills nothing rather than taking bytes away.
    const elapsed = Math.max(0, now - bucket.at);
    bucket.bytes = Math.min(this.capacity, bucket.bytes + (elapsed * this.bytesPerSecond) / 1000);
    bucket.at = Math.max(bucket.at, now);
    return bucket;
  }
}
