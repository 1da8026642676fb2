/**
 * The extractor written as plainly as possible, bit by bit: the specification the optimised kernel
 * is tested and benchmarked against. T[i][j] = s[i - j + n - 1], bits most-significant first.
 */
import { createHash } from 'node:crypto';

import type { ExtractorLayout } from '@dqkd/blast';

const bitAt = (bytes: Uint8Array, index: number): number => (bytes[index >> 3] >> (7 - (index & 7))) & 1;

export function naiveToeplitz(
  seed: Uint8Array,
  input: Uint8Array,
  from: number,
  n: number,
  m: number,
): number[] {
  const output: number[] = [];
  for (let i = 0; i < m; i++) {
    let bit = 0;
    for (let j = 0; j < n; j++) bit ^= bitAt(seed, i - j + n - 1) & bitAt(input, from + j);
    output.push(bit);
  }
  return output;
}

export function naiveExtract(
  combined: Uint8Array,
  seed: Uint8Array,
  layout: ExtractorLayout,
): { block: Uint8Array; kcv: Uint8Array } {
  const { blockBits, subBlockInputBits: n, subBlockOutputBits: m } = layout;
  const blockBitList: number[] = [];
  const checkBits: number[] = [];
  for (let k = 0; blockBitList.length < blockBits; k++) {
    const output = naiveToeplitz(seed, combined, k * n, n, m + 32);
    blockBitList.push(...output.slice(0, m));
    checkBits.push(...output.slice(m));
  }
  const digest = createHash('sha256').update('DQKD BLAST kcv v2').update(toBytes(checkBits)).digest();
  return { block: toBytes(blockBitList.slice(0, blockBits)), kcv: new Uint8Array(digest.subarray(0, 4)) };
}

function toBytes(bits: number[]): Uint8Array {
  const bytes = new Uint8Array(bits.length / 8);
  bits.forEach((bit, i) => (bytes[i >> 3] |= bit << (7 - (i & 7))));
  return bytes;
}
