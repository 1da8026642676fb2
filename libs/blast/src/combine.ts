import { SampleMismatch } from './errors';

/**
 * XOR of t >= 2 equal-length samples from independent entropy servers: the result is as
 * unpredictable as the best of them, so one honest server is enough.
 */
export function combine(samples: readonly Uint8Array[]): Uint8Array {
  if (samples.length < 2) throw new SampleMismatch(`needs at least 2 samples, got ${samples.length}`);
  const length = samples[0].length;
  if (samples.some((sample) => sample.length !== length)) {
    throw new SampleMismatch(
      `samples differ in length: ${samples.map((sample) => sample.length).join(', ')}`,
    );
  }
  const combined = new Uint8Array(samples[0]);
  for (let s = 1; s < samples.length; s++) {
    const sample = samples[s];
    for (let i = 0; i < length; i++) combined[i] ^= sample[i];
  }
  return combined;
}
