import type { NetworkConfig } from '@dqkd/config';
import type { Ledger } from '@dqkd/ledger';

/** How long the first fill may take before `npm start` gives up with a message. */
const FILL_DEADLINE_MS = 120_000;

/** The first fill took longer than `npm start` waits: a plain-words failure, not a fault of the launcher. */
export class PoolsNotFilledError extends Error {
  override readonly name = 'PoolsNotFilledError';

  constructor(short: readonly string[]) {
    super(`the pools did not fill in time: ${short.join(', ')}`);
  }
}

/**
 * Resolves once every link's ready pool, at its source site, has reached the link's low watermark.
 * `ledgers` holds one ledger per KME, in the network file's order.
 */
export async function waitForPools(network: NetworkConfig, ledgers: readonly Ledger[]): Promise<void> {
  const deadline = Date.now() + FILL_DEADLINE_MS;
  const byKme = new Map(network.kmes.map((kme, i) => [kme.id, ledgers[i]!]));
  for (;;) {
    const short = [];
    for (const link of network.links) {
      const ledger = byKme.get(link.source)!;
      const stored = await ledger.links.find(link.source, link.target);
      const ready = stored ? await ledger.blocks.readyBits(stored.id) : 0;
      if (ready < link.limits.lowWatermarkBits) short.push(`${link.source}→${link.target} ${ready} bits`);
    }
    if (short.length === 0) return;
    if (Date.now() > deadline) throw new PoolsNotFilledError(short);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
