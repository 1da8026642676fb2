/**
 * Throughput of BLAST's combine + extract on one core, optimised kernel against the bit-by-bit
 * reference. Not a test: numbers depend on the machine. Run with `npm run bench -w @dqkd/blast`.
 */
import { randomBytes } from 'node:crypto';

import {
  combine,
  extract,
  ExtractorLayout,
  layoutSampleBytes,
  layoutSeedBytes,
  planExtractor,
  subBlockCount,
} from '@dqkd/blast';

import { naiveExtract } from '../../libs/blast/test/naive-toeplitz';

const SERVERS = 3;
const MIN_ENTROPY_RATE = 0.9;
const ROUNDS = 5;
const ROUND_SECONDS = 1;

type Extractor = (combined: Uint8Array, seed: Uint8Array, layout: ExtractorLayout) => unknown;

/** Best of several timed rounds, in output Mbit/s: the least disturbed by other load on the machine. */
function throughput(blockBits: number, extractor: Extractor, rounds: number, roundSeconds: number): number {
  const layout = planExtractor(blockBits, MIN_ENTROPY_RATE);
  const samples = Array.from(
    { length: SERVERS },
    () => new Uint8Array(randomBytes(layoutSampleBytes(layout))),
  );
  const seed = new Uint8Array(randomBytes(layoutSeedBytes(layout)));
  let best = 0;
  for (let round = 0; round < rounds; round++) {
    const started = process.hrtime.bigint();
    const elapsed = () => Number(process.hrtime.bigint() - started) / 1e9;
    let blocks = 0;
    do {
      extractor(combine(samples), seed, layout);
      blocks++;
    } while (elapsed() < roundSeconds);
    const seconds = elapsed();
    best = Math.max(best, (blocks * blockBits) / seconds / 1e6);
  }
  return best;
}

const fmt = (mbits: number) => mbits.toFixed(mbits < 1 ? 3 : 1).padStart(17);

console.log(
  `BLAST combine (t=${SERVERS}) + Toeplitz extract, h=${MIN_ENTROPY_RATE}, one core, Node ${process.version}`,
);
console.log('block      sub-blocks (n bits -> m + 32 rows)  optimised Mbit/s  bit-by-bit Mbit/s  speed-up');
for (const blockBits of [65536, 1 << 20]) {
  const layout = planExtractor(blockBits, MIN_ENTROPY_RATE);
  const fast = throughput(blockBits, extract, ROUNDS, ROUND_SECONDS);
  // The reference costs n bit operations per output bit whatever the block size: one block suffices.
  const naive = blockBits <= 65536 ? throughput(blockBits, naiveExtract, 1, 0) : undefined;
  const label = `${blockBits / 1024} kbit`.padEnd(11);
  const shape = `${subBlockCount(layout)} × (${layout.subBlockInputBits} -> ${layout.subBlockOutputBits} + 32)`;
  const speedUp = naive ? `${Math.round(fast / naive)}×` : '';
  console.log(
    `${label}${shape.padEnd(36)}${fmt(fast)}${(naive ? fmt(naive) : 'skipped').padStart(19)}${speedUp.padStart(10)}`,
  );
}
