import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { naiveExtract, naiveToeplitz } from '../../test/naive-toeplitz';
import { BlastParameterInvalid } from '../errors';
import { extract } from './extract';
import { ExtractorLayout, layoutSampleBytes, layoutSeedBytes, planExtractor } from './layout';
import { ToeplitzHash, wordsToBytes } from './toeplitz';

interface KernelVector {
  name: string;
  inputBits: number;
  outputBits: number;
  seed: string;
  input: string;
  output: string;
}
interface ExtractVector {
  name: string;
  layout: ExtractorLayout;
  seed: string;
  combined: string;
  block: string;
  kcv: string;
}
const vectors = JSON.parse(readFileSync(join(__dirname, '../../test/vectors/toeplitz.json'), 'utf8')) as {
  kernel: KernelVector[];
  extract: ExtractVector[];
};

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const fromHex = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'hex'));

function kernel(seed: Uint8Array, input: Uint8Array, n: number, m: number): Uint8Array {
  const words = new Int32Array(m / 32);
  new ToeplitzHash(seed, n, m).hashInto(input, 0, words);
  const bytes = new Uint8Array(m / 8);
  wordsToBytes(words, bytes, 0, bytes.length);
  return bytes;
}

const bitsToHex = (bits: number[]): string =>
  hex(
    Uint8Array.from({ length: bits.length / 8 }, (_, i) =>
      bits.slice(8 * i, 8 * i + 8).reduce((a, b) => 2 * a + b),
    ),
  );

describe('Toeplitz kernel', () => {
  it.each(vectors.kernel.map((vector) => [vector.name, vector] as const))(
    'matches the independent bit-by-bit vector: %s',
    (_name, vector) => {
      const output = kernel(fromHex(vector.seed), fromHex(vector.input), vector.inputBits, vector.outputBits);
      expect(hex(output)).toBe(vector.output);
    },
  );

  it.each([
    [64, 32],
    [96, 160],
    [512, 384],
    [1056, 896],
  ])('matches the naive reference on random inputs (n=%i, m=%i)', (n, m) => {
    for (let trial = 0; trial < 5; trial++) {
      const seed = randomBytes((n + m) / 8);
      const input = randomBytes(n / 8);
      expect(hex(kernel(seed, input, n, m))).toBe(bitsToHex(naiveToeplitz(seed, input, 0, n, m)));
    }
  });

  it('is linear: the hash of x XOR x2 is the XOR of the hashes', () => {
    const seed = randomBytes((640 + 416) / 8);
    const [x, x2] = [randomBytes(80), randomBytes(80)];
    const both = x.map((byte, i) => byte ^ x2[i]);
    const expected = kernel(seed, x, 640, 416).map((byte, i) => byte ^ kernel(seed, x2, 640, 416)[i]);
    expect(hex(kernel(seed, both, 640, 416))).toBe(hex(expected));
  });

  it('keeps nothing of its input once a hash is done (its row indices spell out the input bytes)', () => {
    const hash = new ToeplitzHash(randomBytes((640 + 416) / 8), 640, 416);
    hash.hashInto(randomBytes(80), 0, new Int32Array(416 / 32));
    expect((hash as unknown as { rows: Int32Array }).rows.every((row) => row === 0)).toBe(true);
  });
});

describe('extract', () => {
  it.each(vectors.extract.map((vector) => [vector.name, vector] as const))(
    'matches the independent bit-by-bit vector: %s',
    (_name, vector) => {
      const { block, kcv } = extract(fromHex(vector.combined), fromHex(vector.seed), vector.layout);
      expect(hex(block)).toBe(vector.block);
      expect(hex(kcv)).toBe(vector.kcv);
    },
  );

  it.each([
    [256, 1],
    [1000, 0.9],
    [4096, 0.5],
    [16384, 0.9],
  ])('matches the naive reference on random samples (blockBits=%i, h=%f)', (blockBits, h) => {
    const layout = planExtractor(blockBits, h);
    const combined = randomBytes(layoutSampleBytes(layout));
    const seed = randomBytes(layoutSeedBytes(layout));
    const fast = extract(combined, seed, layout);
    const naive = naiveExtract(combined, seed, layout);
    expect(hex(fast.block)).toBe(hex(naive.block));
    expect(hex(fast.kcv)).toBe(hex(naive.kcv));
  });

  it('changes the kcv when one byte of the combined sample changes, in any sub-block', () => {
    const layout = planExtractor(65536, 0.9);
    const combined = randomBytes(layoutSampleBytes(layout));
    const seed = randomBytes(layoutSeedBytes(layout));
    const kcv = hex(extract(combined, seed, layout).kcv);
    for (const position of [0, 1000, combined.length >> 1, combined.length - 1]) {
      const altered = Buffer.from(combined);
      altered[position] ^= 0x10;
      expect(hex(extract(altered, seed, layout).kcv)).not.toBe(kcv);
    }
  });

  it('changes the kcv when two sub-blocks change by the same difference', () => {
    const layout = planExtractor(65536, 0.9);
    const combined = randomBytes(layoutSampleBytes(layout));
    const seed = randomBytes(layoutSeedBytes(layout));
    const kcv = hex(extract(combined, seed, layout).kcv);
    const stride = layout.subBlockInputBits / 8;
    for (const [first, second] of [
      [0, 1],
      [1, 7],
    ]) {
      const altered = Buffer.from(combined);
      altered[first! * stride + 5] ^= 0x01;
      altered[second! * stride + 5] ^= 0x01;
      expect(hex(extract(altered, seed, layout).kcv)).not.toBe(kcv);
    }
  });

  it('returns blockBits of block and a 32-bit kcv', () => {
    const layout = planExtractor(65536, 0.9);
    const { block, kcv } = extract(
      randomBytes(layoutSampleBytes(layout)),
      randomBytes(layoutSeedBytes(layout)),
      layout,
    );
    expect(block).toHaveLength(8192);
    expect(kcv).toHaveLength(4);
  });

  it('leaves the caller’s sample untouched', () => {
    const layout = planExtractor(1024, 1);
    const combined = randomBytes(layoutSampleBytes(layout));
    const copy = Buffer.from(combined);
    extract(combined, randomBytes(layoutSeedBytes(layout)), layout);
    expect(Buffer.from(combined).equals(copy)).toBe(true);
  });

  it('refuses a combined sample of the wrong length', () => {
    const layout = planExtractor(1024, 1);
    const seed = randomBytes(layoutSeedBytes(layout));
    expect(() => extract(randomBytes(layoutSampleBytes(layout) - 1), seed, layout)).toThrow(
      BlastParameterInvalid,
    );
  });

  it('refuses a seed of the wrong length', () => {
    const layout = planExtractor(1024, 1);
    const combined = randomBytes(layoutSampleBytes(layout));
    expect(() => extract(combined, randomBytes(layoutSeedBytes(layout) + 1), layout)).toThrow(
      BlastParameterInvalid,
    );
  });
});
