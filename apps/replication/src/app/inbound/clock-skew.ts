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
  private readonly samples = new Map<string, { at: number; offsetMs: number }[]>();

  record(peer: string, sentAt: number, now: number = Date.now()): void {
    const kept = (this.samples.get(peer) ?? []).filter((sample) => now - sample.at < WINDOW_MS);
    kept.push({ at: now, offsetMs: now - sentAt });
    this.samples.set(peer, kept);
  }

  /** The estimate per peer with a sample in the last minute, in seconds. */
  estimates(now: number = Date.now()): Map<string, number> {
    const estimates = new Map<string, number>();
    for (const [peer, samples] of this.samples) {
      const recent = samples.filter((sample) => now - sample.at < WINDOW_MS);
      this.samples.set(peer, recent);
      if (recent.length > 0) {
        estimates.set(peer, Math.min(...recent.map((sample) => sample.offsetMs)) / 1000);
      }
    }
    return estimates;
  }
}
