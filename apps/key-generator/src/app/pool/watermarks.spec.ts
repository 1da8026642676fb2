import { blocksToGenerate } from './watermarks';

const watermarks = { lowWatermarkBits: 4096, highWatermarkBits: 16384 };

describe('blocksToGenerate', () => {
  it('makes nothing while the pool is at or above its low watermark', () => {
    expect(blocksToGenerate(4096, watermarks, 1024)).toBe(0);
    expect(blocksToGenerate(10_000, watermarks, 1024)).toBe(0);
  });

  it('fills an empty pool up to the high watermark', () => {
    expect(blocksToGenerate(0, watermarks, 1024)).toBe(16);
  });

  it('rounds up to whole blocks, so the pool ends at or just above the high watermark', () => {
    expect(blocksToGenerate(4000, watermarks, 1000)).toBe(13);
  });
});
