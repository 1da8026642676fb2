import { nextBackOffMs } from './back-off';

describe('nextBackOffMs', () => {
  it('starts at the least delay, doubles, and stops at the most', () => {
    const delays: number[] = [];
    let last: number | undefined;
    for (let i = 0; i < 7; i++) delays.push((last = nextBackOffMs(last, 1000, 30_000)));
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16_000, 30_000, 30_000]);
  });
});
