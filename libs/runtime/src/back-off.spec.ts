import { BackOff } from './back-off';

describe('BackOff', () => {
  it('is ready before any failure', () => {
    const backOff = new BackOff(1000, 30_000);
    expect(backOff.ready(0)).toBe(true);
    expect(backOff.failures).toBe(0);
  });

  it('waits the least delay after a failure, doubles it after each further one, and stops at the most', () => {
    const backOff = new BackOff(1000, 30_000);
    const delays = Array.from({ length: 7 }, (_, i) => backOff.failed(i * 100_000));
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16_000, 30_000, 30_000]);
    expect(backOff.failures).toBe(7);
  });

  it('holds a try back from the failure until its delay has passed', () => {
    const backOff = new BackOff(1000, 30_000);
    backOff.failed(5000);
    expect(backOff.ready(5000)).toBe(false);
    expect(backOff.ready(5999)).toBe(false);
    expect(backOff.ready(6000)).toBe(true);
    backOff.failed(6000);
    expect(backOff.ready(7999)).toBe(false);
    expect(backOff.ready(8000)).toBe(true);
  });

  it('is ready at once after a success, and starts again from the least delay', () => {
    const backOff = new BackOff(1000, 30_000);
    backOff.failed(0);
    backOff.failed(1000);
    backOff.succeeded();
    expect(backOff.ready(1000)).toBe(true);
    expect(backOff.failures).toBe(0);
    expect(backOff.failed(1000)).toBe(1000);
    expect(backOff.ready(1999)).toBe(false);
  });
});
