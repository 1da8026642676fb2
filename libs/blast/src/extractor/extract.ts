import { BlastParameterInvalid } from '../errors';
import {
  checkLayout,
  ExtractorLayout,
  KCV_BITS,
  layoutSampleBytes,
  layoutSeedBytes,
  subBlockCount,
} from './layout';
import { ToeplitzHash, wordsToBytes } from './toeplitz';

export interface Extracted {
  readonly block: Uint8Array;
  /** 32-bit check value over every sample bit, itself extractor output; compared by the target. */
  readonly kcv: Uint8Array;
}

/**
 * Hashes the combined sample, sub-block by sub-block with one seed, into the block and its kcv (see
 * `ExtractorLayout`). The caller owns (and zeroes) the input; intermediate words are zeroed here.
 */
export function extract(combined: Uint8Array, seed: Uint8Array, layout: ExtractorLayout): Extracted {
  checkLayout(layout);
  if (combined.length !== layoutSampleBytes(layout)) {
    throw new BlastParameterInvalid(`combined sample must be ${layoutSampleBytes(layout)} bytes`);
  }
  if (seed.length !== layoutSeedBytes(layout)) {
    throw new BlastParameterInvalid(`extractor seed must be ${layoutSeedBytes(layout)} bytes`);
  }
  const { blockBits, subBlockInputBits, subBlockOutputBits } = layout;
  const hash = new ToeplitzHash(seed, subBlockInputBits, subBlockOutputBits + KCV_BITS);
  const block = new Uint8Array(blockBits / 8);
  const words = new Int32Array((subBlockOutputBits + KCV_BITS) / 32);
  const kcvWord = words.length - 1;
  let kcv = 0;
  for (let k = 0, written = 0; k < subBlockCount(layout); k++) {
    hash.hashInto(combined, (k * subBlockInputBits) / 8, words);
    const length = Math.min(subBlockOutputBits / 8, block.length - written);
    wordsToBytes(words, block, written, length);
    written += length;
    kcv ^= words[kcvWord];
  }
  words.fill(0);
  const kcvBytes = new Uint8Array(KCV_BITS / 8);
  new DataView(kcvBytes.buffer).setInt32(0, kcv);
  return { block, kcv: kcvBytes };
}
