import type { Link as LinkConfig } from '@dqkd/config';
import { storedKeyCount } from '@dqkd/etsi014';
import { Ledger } from '@dqkd/ledger';
import {
  blocksBurnedProvider,
  counterProvider,
  gaugeProvider,
  histogramProvider,
  linkLabel,
  linkLabelValues,
  type Counter,
  type Gauge,
  type Histogram,
} from '@dqkd/metrics';

import { PoolReadings } from './pool-readings';

export const GENERATED = 'dqkd_blocks_generated_total';
export const GENERATION_DURATION = 'dqkd_blast_generation_duration_seconds';
export const POOL_READY_BYTES = 'dqkd_pool_ready_bytes';
export const POOL_READY_KEYS = 'dqkd_pool_ready_keys';
// Prometheus' base unit is the byte: pools and watermarks, counted in bits in the ledger and the network file,
// are shown in bytes (key sizes are whole bytes, so nothing is lost).
export const POOL_LOW_WATERMARK = 'dqkd_pool_low_watermark_bytes';

// Leasing from three servers over TLS and extracting a block takes milliseconds to a second; more is trouble.
const GENERATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The metrics of this site's outgoing links; their label values are the links of the network file. */
export function generatorMetricProviders(links: readonly LinkConfig[]) {
  const labels = { link: linkLabelValues(links) };
  const byLabel = new Map(links.map((link) => [linkLabel(link.source, link.target), link]));
  // Read at scrape time from the ledger, once for both gauges, so bits and keys of one scrape agree. While the
  // ledger is out of reach the gauges keep their last values: readiness reports the outage, and a failed
  // scrape would look like a process down.
  const fromPool =
    (value: (bits: number, link: LinkConfig) => number) => async (gauge: Gauge, readings: PoolReadings) => {
      const bitsByLink = await readings.readyBits().catch(() => new Map<string, number>());
      for (const [label, bits] of bitsByLink) gauge.set({ link: label }, value(bits, byLabel.get(label)!));
    };
  return [
    {
      provide: PoolReadings,
      inject: [Ledger],
      useFactory: (ledger: Ledger) => new PoolReadings(ledger, links),
    },
    counterProvider({
      name: GENERATED,
      help: 'Blocks made with BLAST and sent to their target for confirmation.',
    }),
    blocksBurnedProvider(),
    histogramProvider({
      name: GENERATION_DURATION,
      help: 'Time to make one block with BLAST: leases from every entropy server, XOR and extraction.',
      buckets: GENERATION_BUCKETS,
    }),
    gaugeProvider({
      name: POOL_READY_BYTES,
      help: 'Ready, unreserved key material of unexpired blocks of each outgoing link: what enc_keys can carve now.',
      labels,
      inject: [PoolReadings],
      collect: fromPool((bits) => bits / 8),
    }),
    gaugeProvider({
      name: POOL_READY_KEYS,
      help: "Keys of the link's default size the ready pool holds, capped as status' stored_key_count is.",
      labels,
      inject: [PoolReadings],
      collect: fromPool((bits, link) => storedKeyCount(bits, link.limits)),
    }),
    gaugeProvider({
      name: POOL_LOW_WATERMARK,
      help: 'Ready material under which the key-generator fills the link (the pool alerts compare with it).',
      labels,
      collect: (gauge: Gauge) => {
        for (const link of links)
          gauge.set({ link: linkLabel(link.source, link.target) }, link.limits.lowWatermarkBits / 8);
      },
    }),
  ];
}

export interface GeneratorMetrics {
  readonly generated: Counter;
  readonly burned: Counter;
  readonly generationDuration: Histogram;
}
