import { blocksToGenerate, whileUnanswered, withShortage } from './watermarks';

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

describe('withShortage', () => {
  it('fills a pool above its low watermark until it holds a request it could not cover', () => {
    // 10000 bits in the pool, 12000 asked for: a refill, up to the high watermark as usual.
    expect(blocksToGenerate(10_000, withShortage(watermarks, 12_000, 1024), 1024)).toBe(7);
    // A request beyond the high watermark: up to the request.
    expect(blocksToGenerate(10_000, withShortage(watermarks, 20_000, 1024), 1024)).toBe(10);
  });

  it('changes nothing for a request below the low watermark, or without one', () => {
    expect(withShortage(watermarks, 1000, 1024)).toBe(watermarks);
    expect(withShortage(watermarks, undefined, 1024)).toBe(watermarks);
  });

  it('makes nothing once the pool holds the request', () => {
    expect(blocksToGenerate(12_000, withShortage(watermarks, 12_000, 1024), 1024)).toBe(0);
  });

  it('fills no further than the pool ever holds, however large the shortage', () => {
    // 2 × (16384 + 1024) = 34816 bits at most.
    expect(withShortage(watermarks, 1_000_000, 1024).highWatermarkBits).toBe(34_816);
  });
});

describe('whileUnanswered', () => {
  it('makes what is wanted while the target answers', () => {
    expect(whileUnanswered(16, { unanswered: false, pending: 3 })).toBe(16);
  });

  it('makes one block as a probe while the target does not answer, and none while that one waits', () => {
    expect(whileUnanswered(16, { unanswered: true, pending: 0 })).toBe(1);
    expect(whileUnanswered(16, { unanswered: true, pending: 1 })).toBe(0);
  });
});
