/**
 * Toeplitz hashing over GF(2), table-driven ("four Russians" on input bytes).
 *
 * Bits are numbered most-significant first within each byte. With seed bits s[0 .. n+m-2], the
 * m × n matrix is T[i][j] = s[i - j + n - 1] and the output is y = T·x. Column j is the m-bit window
 * of the seed starting at n-1-j, so y is the XOR of the windows of the set input bits. For one input
 * byte at bit offset 8c with value v, those windows start at base = n-8-8c plus d for each set bit
 * (v >> d) & 1, i.e. they form one window, at base, of Z_v = XOR of (seed shifted by d). The tables
 * hold Z_v for all 256 byte values, pre-shifted by 0, 8, 16 and 24 bits so that every window starts
 * on a 32-bit word: hashing costs one word XOR per input byte per 32 output bits.
 *
 * A seed is expanded once and then reused for every sub-block of a block. The seed is public in the
 * leftover hash lemma, so the tables need no zeroing. The input is not public, and which table rows are
 * read depends on it: code sharing the machine's caches could learn part of it, so the README's security
 * claim asks for machines of their own. A form whose addresses do not depend on the input (one masked
 * window XOR per input bit) needs eight window XORs per input byte where the tables need one; it is not
 * measured here.
 */
export class ToeplitzHash {
  private readonly seedWords: number;
  private readonly tables: Int32Array;
  private readonly outputWords: number;
  /** Per input byte, where its table row's window starts; rebuilt for every sub-block. */
  private readonly rows: Int32Array;

  constructor(
    seed: Uint8Array,
    private readonly inputBits: number,
    outputBits: number,
  ) {
    this.seedWords = (inputBits + outputBits) / 32;
    this.outputWords = outputBits / 32;
    this.rows = new Int32Array(inputBits / 8);
    this.tables = buildTables(toWords(seed, this.seedWords + 1), this.seedWords);
  }

  /**
   * Hashes `inputBits` bits of `input` from byte `from` into `into` (outputBits / 32 words,
   * overwritten). Output words are produced eight at a time in local variables, walking the selected
   * table rows column-wise, so the inner loop only loads and XORs.
   */
  hashInto(input: Uint8Array, from: number, into: Int32Array): void {
    const tables = this.tables;
    const rows = this.rows;
    const rowCount = rows.length;
    const seedWords = this.seedWords;
    for (let c = 0; c < rowCount; c++) {
      const base = this.inputBits - 8 - 8 * c;
      rows[c] = ((base & 31) >> 3) * 256 * seedWords + input[from + c] * seedWords + (base >>> 5);
    }
    const outputWords = this.outputWords;
    let w = 0;
    for (; w + 8 <= outputWords; w += 8) {
      let a0 = 0,
        a1 = 0,
        a2 = 0,
        a3 = 0,
        a4 = 0,
        a5 = 0,
        a6 = 0,
        a7 = 0;
      for (let c = 0; c < rowCount; c++) {
        const o = rows[c] + w;
        a0 ^= tables[o];
        a1 ^= tables[o + 1];
        a2 ^= tables[o + 2];
        a3 ^= tables[o + 3];
        a4 ^= tables[o + 4];
        a5 ^= tables[o + 5];
        a6 ^= tables[o + 6];
        a7 ^= tables[o + 7];
      }
      into[w] = a0;
      into[w + 1] = a1;
      into[w + 2] = a2;
      into[w + 3] = a3;
      into[w + 4] = a4;
      into[w + 5] = a5;
      into[w + 6] = a6;
      into[w + 7] = a7;
    }
    for (; w < outputWords; w++) {
      let a = 0;
      for (let c = 0; c < rowCount; c++) a ^= tables[rows[c] + w];
      into[w] = a;
    }
    // The row indices spell out the input (combined samples): they must not outlive the hash.
    rows.fill(0);
  }
}

/**
 * Z_v for v = 0..255 (XOR of the seed shifted by each set bit d of v), in four copies shifted by a
 * further 0, 8, 16 and 24 bits. Each Z_v is Z of v without its lowest set bit XOR one shift; going
 * from the top bit down, that smaller entry is always filled first.
 */
function buildTables(seed: Int32Array, seedWords: number): Int32Array {
  const tables = new Int32Array(4 * 256 * seedWords);
  const shifted = new Int32Array(seedWords);
  for (let alignment = 0; alignment < 4; alignment++) {
    const tableBase = alignment * 256 * seedWords;
    for (let bit = 7; bit >= 0; bit--) {
      shiftLeft(seed, alignment * 8 + bit, shifted);
      const step = 1 << bit;
      for (let value = step; value < 256; value += 2 * step) {
        const target = tableBase + value * seedWords;
        const rest = target - step * seedWords;
        for (let w = 0; w < seedWords; w++) tables[target + w] = tables[rest + w] ^ shifted[w];
      }
    }
  }
  return tables;
}

/** Big-endian 32-bit words (bit 0 of the string is the top bit of word 0), zero-padded. */
function toWords(bytes: Uint8Array, length: number): Int32Array {
  const words = new Int32Array(length);
  for (let i = 0; i < bytes.length; i++) words[i >> 2] |= bytes[i] << (24 - 8 * (i & 3));
  return words;
}

/** The bit string moved `shift` bits towards index 0: into[p] = words[p + shift]. */
function shiftLeft(words: Int32Array, shift: number, into: Int32Array): void {
  for (let w = 0; w < into.length; w++) {
    into[w] = shift === 0 ? words[w] : (words[w] << shift) | (words[w + 1] >>> (32 - shift));
  }
}

/** Writes words big-endian, the inverse of toWords, for `byteLength` bytes. */
export function wordsToBytes(words: Int32Array, into: Uint8Array, at: number, byteLength: number): void {
  for (let i = 0; i < byteLength; i++) into[at + i] = (words[i >> 2] >>> (24 - 8 * (i & 3))) & 0xff;
}
