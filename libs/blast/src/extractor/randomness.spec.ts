import { randomBytes } from 'node:crypto';

import { randomnessReport } from '../../test/randomness';
import { combine } from '../combine';
import { extract } from './extract';
import { layoutSampleBytes, layoutSeedBytes, planExtractor } from './layout';

/**
 * A statistical test sees bias and repetition, not predictability: a linear hash of any non-zero input
 * under a random seed looks uniform, so the broken variants below are the ones whose defect shows
 * (raw output, a stuck server used alone, no seed); correctness proper is the vectors' job.
 *
 * Three entropy servers: one stuck at zero, two healthy but biased. Each bit of a healthy sample is
 * the OR of two fair bits (P(1) = 3/4, min-entropy 0.415 per bit), so the extractor is planned at h = 0.4.
 */
const BLOCK_BITS = 65536;
const MIN_ENTROPY_RATE = 0.4;
const OUTPUT_BYTES = 2 * 1024 * 1024;

const layout = planExtractor(BLOCK_BITS, MIN_ENTROPY_RATE);
const blocks = OUTPUT_BYTES / (BLOCK_BITS / 8);

function biasedSample(): Uint8Array {
  const [a, b] = [randomBytes(layoutSampleBytes(layout)), randomBytes(layoutSampleBytes(layout))];
  return a.map((byte, i) => byte | b[i]);
}

function samplesOfOneBlock(): Uint8Array[] {
  return [new Uint8Array(layoutSampleBytes(layout)), biasedSample(), biasedSample()];
}

function output(makeBlock: (samples: Uint8Array[], seed: Uint8Array) => Uint8Array): Uint8Array {
  const result = new Uint8Array(OUTPUT_BYTES);
  for (let k = 0; k < blocks; k++) {
    result.set(makeBlock(samplesOfOneBlock(), randomBytes(layoutSeedBytes(layout))), (k * BLOCK_BITS) / 8);
  }
  return result;
}

describe('extractor output (statistical smoke test, 2 MB)', () => {
  it('passes monobit, runs and byte chi-square when all samples are combined and hashed', () => {
    const report = randomnessReport(output((samples, seed) => extract(combine(samples), seed, layout).block));
    expect(report).toMatchObject({ passed: true });
  });

  it('fails them when the hash is skipped and the combined sample is used as it is', () => {
    const report = randomnessReport(output((samples) => combine(samples).subarray(0, BLOCK_BITS / 8)));
    expect(report).toMatchObject({ passed: false });
  });

  it('fails them when only the first sample is used (a stuck server)', () => {
    const report = randomnessReport(output((samples, seed) => extract(samples[0], seed, layout).block));
    expect(report).toMatchObject({ passed: false });
  });

  it('fails them when the seed is dropped (all zero)', () => {
    const report = randomnessReport(
      output((samples, seed) => extract(combine(samples), new Uint8Array(seed.length), layout).block),
    );
    expect(report).toMatchObject({ passed: false });
  });
});
