import type { Link as LinkConfig } from '@dqkd/config';
import type { Ledger } from '@dqkd/ledger';
import { linkLabel } from '@dqkd/metrics';

/** How long one reading serves scrapes that arrive together (every gauge of one scrape, several scrapers). */
const READING_TTL_MS = 500;

/**
 * The ready bits of each outgoing link, read from the ledger as status reads them. Prometheus collects the
 * gauges of one scrape in parallel; sharing one reading keeps the bits and keys of a scrape consistent.
 */
export class PoolReadings {
  private reading: { at: number; value: Promise<Map<string, number>> } | undefined;

  constructor(
    private readonly ledger: Ledger,
    private readonly links: readonly LinkConfig[],
  ) {}

  /** Ready bits by link label; a link the generator has not created in the ledger yet holds none. */
  readyBits(): Promise<Map<string, number>> {
    const now = Date.now();
    if (this.reading === undefined || now - this.reading.at > READING_TTL_MS) {
      this.reading = { at: now, value: this.read() };
    }
    return this.reading.value;
  }

  private async read(): Promise<Map<string, number>> {
    const bits = new Map<string, number>();
    for (const { source, target } of this.links) {
      const stored = await this.ledger.links.find(source, target);
      bits.set(linkLabel(source, target), stored ? await this.ledger.blocks.readyBits(stored.id) : 0);
    }
    return bits;
  }
}
