import { RateLimiter } from './rate-limiter';

describe('RateLimiter', () => {
  const limiter = () => new RateLimiter(() => ({ perSecond: 10, burst: 3 }));

  it('lets a burst through and refuses the request after it', () => {
    const limits = limiter();
    expect([1, 2, 3, 4].map(() => limits.take('sae-alice', 0))).toEqual([true, true, true, false]);
  });

  it('refills at the sustained rate', () => {
    const limits = limiter();
    [1, 2, 3].forEach(() => limits.take('sae-alice', 0));
    expect(limits.take('sae-alice', 50)).toBe(false);
    expect(limits.take('sae-alice', 100)).toBe(true);
    expect(limits.take('sae-alice', 100)).toBe(false);
  });

  it('keeps one bucket per caller', () => {
    const limits = limiter();
    [1, 2, 3].forEach(() => limits.take('sae-alice', 0));
    expect(limits.take('sae-bob', 0)).toBe(true);
  });
});
