import { Histogram, Registry } from '@dqkd/metrics';

import { LAG_BUCKETS, observeLag } from './lag';

describe('observeLag', () => {
  const histogram = () =>
    new Histogram({
      name: 'dqkd_test_lag_seconds',
      help: 'lag',
      labelNames: ['kind'],
      buckets: LAG_BUCKETS,
      registers: [new Registry()],
    });

  it('observes the seconds from the source sending to now, by kind', async () => {
    const lag = histogram();
    observeLag(lag, 'assignment', new Date(10_000), 10_004);
    observeLag(lag, 'metadata', 9_000, 10_000);
    const { values } = await lag.get();
    const sum = (kind: string) =>
      values.find((v) => v.metricName === 'dqkd_test_lag_seconds_sum' && v.labels['kind'] === kind)?.value;
    expect(sum('assignment')).toBeCloseTo(0.004);
    expect(sum('metadata')).toBe(1);
  });

  it('skips an assignment without an issue time and counts a send time in the future as 0', async () => {
    const lag = histogram();
    observeLag(lag, 'assignment', undefined, 10_000);
    observeLag(lag, 'metadata', 10_500, 10_000);
    const { values } = await lag.get();
    const count = values.filter((v) => v.metricName === 'dqkd_test_lag_seconds_count');
    expect(count.map((v) => [v.labels['kind'], v.value])).toEqual([['metadata', 1]]);
    expect(values.find((v) => v.metricName === 'dqkd_test_lag_seconds_sum')?.value).toBe(0);
  });
});
