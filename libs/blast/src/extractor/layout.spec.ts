import { BlastParameterInvalid } from '../errors';
import {
  checkLayout,
  KCV_BITS,
  layoutSampleBytes,
  layoutSeedBytes,
  planExtractor,
  sampleBytes,
  SECURITY_MARGIN_BITS,
  subBlockCount,
} from './layout';

const designFormula = (blockBits: number, h: number) => Math.ceil((blockBits + 32 + 128) / (8 * h));

describe('extractor layout', () => {
  it.each([
    [256, 1],
    [8192, 1],
    [65536, 0.9],
    [65536, 0.5],
    [1 << 20, 0.9],
    [1 << 20, 1],
  ])('keeps every sub-block within m + 32 <= h·n - 128 (blockBits=%i, h=%f)', (blockBits, h) => {
    const layout = planExtractor(blockBits, h);
    expect(layout.subBlockOutputBits + KCV_BITS).toBeLessThanOrEqual(
      h * layout.subBlockInputBits - SECURITY_MARGIN_BITS,
    );
    expect(subBlockCount(layout) * layout.subBlockOutputBits).toBeGreaterThanOrEqual(blockBits);
  });

  it('cuts blocks into sub-blocks of a few kbit', () => {
    const layout = planExtractor(1 << 20, 0.9);
    expect(layout.subBlockOutputBits + KCV_BITS).toBeLessThanOrEqual(4096);
    expect(layout.subBlockOutputBits).toBeGreaterThan(2048);
    expect(subBlockCount(layout)).toBe(259);
  });

  it('plans the 8192-bit layout the extract vectors use', () => {
    expect(planExtractor(8192, 1)).toEqual({
      blockBits: 8192,
      subBlockInputBits: 2912,
      subBlockOutputBits: 2752,
    });
  });

  it('leases at most 6 % more than DESIGN.md’s single-matrix formula for blocks of 8 kbit and more', () => {
    for (const [blockBits, h] of [
      [8192, 1],
      [65536, 0.9],
      [1 << 20, 0.9],
      [1 << 20, 1],
    ]) {
      const bytes = sampleBytes(blockBits, h);
      expect(bytes).toBeGreaterThanOrEqual(designFormula(blockBits, h));
      expect(bytes / designFormula(blockBits, h)).toBeLessThan(1.06);
    }
  });

  it('sizes the seed at n + m + 32 bits and the sample at whole sub-blocks', () => {
    const layout = planExtractor(65536, 1);
    expect(layoutSeedBytes(layout) * 8).toBe(layout.subBlockInputBits + layout.subBlockOutputBits + KCV_BITS);
    expect(layoutSampleBytes(layout) * 8).toBe(subBlockCount(layout) * layout.subBlockInputBits);
  });

  it.each([0, 7, 12, -8, 8.5, 2 ** 25])('refuses blockBits %p', (blockBits) => {
    expect(() => planExtractor(blockBits, 1)).toThrow(BlastParameterInvalid);
  });

  it.each([0, -0.5, 1.01, Number.NaN])('refuses min-entropy rate %p', (h) => {
    expect(() => planExtractor(1024, h)).toThrow(BlastParameterInvalid);
  });

  it('refuses a layout without room for the kcv rows and the 128-bit margin', () => {
    expect(() => checkLayout({ blockBits: 1024, subBlockInputBits: 4096, subBlockOutputBits: 3968 })).toThrow(
      BlastParameterInvalid,
    );
    expect(() =>
      checkLayout({ blockBits: 1024, subBlockInputBits: 4096, subBlockOutputBits: 3936 }),
    ).not.toThrow();
  });

  it('refuses sub-blocks too large for the target to allocate', () => {
    expect(() =>
      checkLayout({ blockBits: 1024, subBlockInputBits: 65568, subBlockOutputBits: 4096 }),
    ).toThrow(BlastParameterInvalid);
  });
});
