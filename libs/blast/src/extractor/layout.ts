import { BlastParameterInvalid } from '../errors';

/** Bits of check value (kcv) extracted along with every block. */
export const KCV_BITS = 32;

/**
 * Leftover-hash margin per sub-block: extracting m bits from a sub-block with min-entropy k leaves
 * the output within statistical distance 2^-((k - m) / 2) of uniform, so k - m >= 128 gives 2^-64.
 */
export const SECURITY_MARGIN_BITS = 128;

/**
 * Rows of one sub-block's matrix. "A few kbit": small enough for fast table-driven hashing, large
 * enough that the margin costs about 4 %.
 */
const TARGET_SUB_BLOCK_ROWS = 4096;

/** Bounds what signed metadata may ask the target to allocate (tables grow with the sub-block). */
const MAX_SUB_BLOCK_INPUT_BITS = 65536;
const MAX_BLOCK_BITS = 1 << 24;

/**
 * How one block is extracted. The combined sample is cut into consecutive sub-blocks of n =
 * `subBlockInputBits`; each is hashed with the same (m + 32) × n Toeplitz matrix, m =
 * `subBlockOutputBits`. The first m rows of every sub-block, concatenated and cut to `blockBits`, are
 * the block; the last 32 rows of every sub-block, hashed together (SHA-256, cut to 32 bits), are the kcv.
 * A sample that differs in any sub-block changes that sub-block's check rows except with probability 2^-32
 * over the secret seed, and so the kcv; being a function of extractor output alone, it says nothing about
 * the block. (XOR-ed instead, the rows of two sub-blocks changed by the same difference cancelled: the matrix
 * is the same for all.)
 * The layout travels in the metadata so that the target never needs the source's min-entropy rate.
 */
export interface ExtractorLayout {
  readonly blockBits: number;
  readonly subBlockInputBits: number;
  readonly subBlockOutputBits: number;
}

const roundUpTo32 = (bits: number): number => Math.ceil(bits / 32) * 32;

/**
 * Chooses the sub-blocks for a block of `blockBits` from samples of min-entropy rate `minEntropyRate`
 * (h, bits of min-entropy per bit; 1.0 for a CSPRNG-backed server).
 *
 * Each sub-block satisfies m + 32 <= h·n - 128, so its output is 2^-64-close to uniform by the leftover
 * hash lemma, provided every sub-block of the combined sample has min-entropy at least h·n given the
 * others (true when one entropy server is honest, independent of the rest, and its output has rate
 * h per sub-block). Reusing one seed across sub-blocks adds the errors (hybrid argument), so a block
 * of s sub-blocks (with its kcv) is within s · 2^-64 of uniform; a 1 Mbit block has 259 sub-blocks,
 * under 2^-55.
 */
export function planExtractor(blockBits: number, minEntropyRate: number): ExtractorLayout {
  if (!Number.isInteger(blockBits) || blockBits <= 0 || blockBits % 8 !== 0 || blockBits > MAX_BLOCK_BITS) {
    throw new BlastParameterInvalid(`blockBits must be a positive multiple of 8 up to ${MAX_BLOCK_BITS}`);
  }
  if (!(minEntropyRate > 0 && minEntropyRate <= 1)) {
    throw new BlastParameterInvalid('min-entropy rate must be in (0, 1]');
  }
  const subBlocks = Math.ceil(blockBits / (TARGET_SUB_BLOCK_ROWS - KCV_BITS));
  const subBlockOutputBits = roundUpTo32(Math.ceil(blockBits / subBlocks));
  const entropyNeeded = subBlockOutputBits + KCV_BITS + SECURITY_MARGIN_BITS;
  let subBlockInputBits = roundUpTo32(Math.ceil(entropyNeeded / minEntropyRate));
  // Floating-point division may land one ulp low; the inequality itself is what must hold.
  while (minEntropyRate * subBlockInputBits < entropyNeeded) subBlockInputBits += 32;
  const layout = { blockBits, subBlockInputBits, subBlockOutputBits };
  checkLayout(layout);
  return layout;
}

/**
 * Refuses layouts the kernel cannot run or that could not be secure at any rate h <= 1. The target
 * calls this on received metadata before allocating anything.
 */
export function checkLayout(layout: ExtractorLayout): void {
  const { blockBits, subBlockInputBits: n, subBlockOutputBits: m } = layout;
  if (!Number.isInteger(blockBits) || blockBits <= 0 || blockBits % 8 !== 0 || blockBits > MAX_BLOCK_BITS) {
    throw new BlastParameterInvalid(`blockBits must be a positive multiple of 8 up to ${MAX_BLOCK_BITS}`);
  }
  if (!Number.isInteger(m) || m <= 0 || m % 32 !== 0) {
    throw new BlastParameterInvalid('sub-block output bits must be a positive multiple of 32');
  }
  const least = m + KCV_BITS + SECURITY_MARGIN_BITS;
  if (!Number.isInteger(n) || n % 32 !== 0 || n < least || n > MAX_SUB_BLOCK_INPUT_BITS) {
    throw new BlastParameterInvalid(
      `sub-block input bits must be a multiple of 32 from ${least} up to ${MAX_SUB_BLOCK_INPUT_BITS}`,
    );
  }
}

export function subBlockCount(layout: ExtractorLayout): number {
  return Math.ceil(layout.blockBits / layout.subBlockOutputBits);
}

/** Bytes of combined sample, hence bytes leased from each entropy server. */
export function layoutSampleBytes(layout: ExtractorLayout): number {
  return (subBlockCount(layout) * layout.subBlockInputBits) / 8;
}

/**
 * The (m + 32) × n Toeplitz matrix takes n + m + 31 seed bits, carried in (n + m + 32) / 8 bytes whose
 * last bit is unused.
 */
export function layoutSeedBytes(layout: ExtractorLayout): number {
  return (layout.subBlockInputBits + layout.subBlockOutputBits + KCV_BITS) / 8;
}

/**
 * Bytes to lease from each of the t entropy servers for one block. DESIGN.md's
 * ceil((blockBits + 32 + 128) / (8·h)) pays the 128-bit margin once, which only holds for a single
 * Toeplitz matrix over the whole block; with sub-blocks the margin and the kcv rows are paid per
 * sub-block and sizes are rounded to whole words, so this is that formula plus about 4 %.
 */
export function sampleBytes(blockBits: number, minEntropyRate: number): number {
  return layoutSampleBytes(planExtractor(blockBits, minEntropyRate));
}
