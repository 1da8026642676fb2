import { createHash } from 'node:crypto';

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
  /**
   * 32-bit check value over every sample bit, compared by the target: the first 32 bits of SHA-256 over the
   * check rows of every sub-block (extractor output, so it says nothing about the block).
   */
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
  const count = subBlockCount(layout);
  const checks = new Uint8Array(count * 4);
  const checkView = new DataView(checks.buffer);
  for (let k = 0, written = 0; k < count; k++) {
    hash.hashInto(combined, (k * subBlockInputBits) / 8, words);
    const length = Math.min(subBlockOutputBits / 8, block.length - written);
    wordsToBytes(words, block, written, length);
    written += length;
    checkView.setInt32(k * 4, words[kcvWord]!);
  }
  words.fill(0);
  const kcv = new Uint8Array(createHash('sha256').update(KCV_LABEL).update(checks).digest().subarray(0, 4));
  checks.fill(0);
  return { block, kcv };
}

/**
 * Domain separation of the hash that joins the sub-blocks' check rows into the kcv. Their XOR, as before
 * metadata version 2, let whoever controls one sample change two sub-blocks by the same difference and keep the
 * kcv: one matrix hashes every sub-block, so the differences cancelled.
 */
const KCV_LABEL = 'DQKD BLAST kcv v2';
