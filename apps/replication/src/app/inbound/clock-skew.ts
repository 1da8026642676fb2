/** How long a sample counts: recent enough to follow a drifting clock, long enough to see quiet links. */
const WINDOW_MS = 60_000;

/**
 * How far this site's clock is ahead of each peer's, in seconds (negative: behind). Measured on every first
 * delivery of a peer's message as receive time (here) minus the send time the peer's outbox relay stamped in
 * the `Dqkd-Sent-At` header (there). That difference is the offset plus the message's transit time; the
 * minimum over the last minute keeps the fastest transit, which across a healthy inter-site link is
 * milliseconds, so it is the offset to within that. A backlog of a minute or more shows as skew too, and
 * together with DqkdReplicationLagHigh.
 */
export class ClockSkew {
  /**
   * Per peer, the samples that can still be the minimum: in arrival order with rising offsets (a sample with a
   * smaller offset makes every earlier larger one useless), from `head` on. Each sample goes in and out once,
   * so a busy link costs constant time per message, not a copy of the minute's samples.
   */
  private readonly windows = new Map<string, { samples: Sample[]; head: number }>();

  record(peer: string, sentAt: number, now: number = Date.now()): void {
    const window = this.windows.get(peer) ?? { samples: [], head: 0 };
    this.windows.set(peer, window);
    evict(window, now);
    const offsetMs = now - sentAt;
    const { samples } = window;
    while (samples.length > window.head && samples[samples.length - 1]!.offsetMs >= offsetMs) samples.pop();
    samples.push({ at: now, offsetMs });
  }

  /** The estimate per peer with a sample in the last minute, in seconds. */
  estimates(now: number = Date.now()): Map<string, number> {
    const estimates = new Map<string, number>();
    for (const [peer, window] of this.windows) {
      evict(window, now);
      const oldest = window.samples[window.head];
      if (oldest === undefined) this.windows.delete(peer);
      else estimates.set(peer, oldest.offsetMs / 1000);
    }
    return estimates;
  }
}

interface Sample {
  readonly at: number;
  readonly offsetMs: number;
}

/** Drops the samples older than the window; the array is compacted once most of it lies before `head`. */
function evict(window: { samples: Sample[]; head: number }, now: number): void {
  while (window.head < window.samples.length && now - window.samples[window.head]!.at >= WINDOW_MS) {
    window.head += 1;
  }
  if (window.head > 1024 && window.head * 2 > window.samples.length) {
    window.samples = window.samples.slice(window.head);
    window.head = 0;
  }
}
