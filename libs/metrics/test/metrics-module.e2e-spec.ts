import 'reflect-metadata';

import { spawnSync } from 'node:child_process';

import { Injectable, Module, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';

import {
  counterProvider,
  histogramProvider,
  InjectMetric,
  MetricDefinitionError,
  metricToken,
  MetricsModule,
  type Counter,
  type Histogram,
} from '../src';

const REFUSALS = 'dqkd_test_refusals_total';

const hasPromtool = spawnSync('promtool', ['--version']).status === 0;
if (!hasPromtool) console.warn('promtool is not installed: skipping promtool check metrics');
const withPromtool = hasPromtool ? it : it.skip;

@Injectable()
class Refuser {
  constructor(@InjectMetric(REFUSALS) readonly refusals: Counter) {}
}

@Module({
  providers: [
    counterProvider({
      name: REFUSALS,
      help: 'Refusals by reason.',
      labels: { reason: ['unknown', 'expired'] },
    }),
    Refuser,
  ],
})
class FeatureModule {}

async function scrape(app: INestApplication): Promise<{ status: number; type: string | null; body: string }> {
  const response = await fetch(`${await app.getUrl()}/metrics`);
  return { status: response.status, type: response.headers.get('content-type'), body: await response.text() };
}

describe('MetricsModule', () => {
  let app: INestApplication;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [MetricsModule.forRoot(), FeatureModule],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.listen(0, '127.0.0.1');
  });

  afterAll(async () => {
    await app?.close();
  });

  it('serves the default process metrics under the dqkd_ prefix at /metrics', async () => {
    const { status, type, body } = await scrape(app);
    expect(status).toBe(200);
    expect(type).toMatch(/^text\/plain/);
    expect(body).toMatch(/^dqkd_process_cpu_user_seconds_total \d/m);
    expect(body).toMatch(/^dqkd_nodejs_heap_size_used_bytes \d/m);
  });

  it('shows every declared label value at 0 before its first event, then counts', async () => {
    expect((await scrape(app)).body).toContain(`${REFUSALS}{reason="expired"} 0`);
    app.get(Refuser).refusals.inc({ reason: 'expired' });
    app.get(Refuser).refusals.inc({ reason: 'expired' });
    const { body } = await scrape(app);
    expect(body).toContain(`${REFUSALS}{reason="expired"} 2`);
    expect(body).toContain(`${REFUSALS}{reason="unknown"} 0`);
  });

  it('gives a second application in the same process its own registry: its own series, default metrics too', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [MetricsModule.forRoot({ defaultLabels: { server: 'entropy-2' } }), FeatureModule],
    }).compile();
    const second = moduleRef.createNestApplication({ logger: false });
    await second.listen(0, '127.0.0.1');
    try {
      app.get(Refuser).refusals.inc({ reason: 'unknown' }, 5);
      second.get(Refuser).refusals.inc({ reason: 'unknown' });
      const { body } = await scrape(second);
      expect(body).toMatch(/^dqkd_process_cpu_user_seconds_total\{server="entropy-2"\} \d/m);
      expect(body).toContain(`${REFUSALS}{reason="unknown",server="entropy-2"} 1`);
      expect((await scrape(app)).body).toContain(`${REFUSALS}{reason="unknown"} 5`);
    } finally {
      await second.close();
    }
  });

  it('observes a histogram whose buckets exist before the first observation', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [MetricsModule.forRoot()],
      providers: [
        histogramProvider({
          name: 'dqkd_test_lag_seconds',
          help: 'Lag.',
          labels: { kind: ['a'] },
          buckets: [0.01, 0.1],
        }),
      ],
    }).compile();
    const third = moduleRef.createNestApplication({ logger: false });
    await third.listen(0, '127.0.0.1');
    try {
      expect((await scrape(third)).body).toContain('dqkd_test_lag_seconds_bucket{le="0.01",kind="a"} 0');
      third.get<Histogram>(metricToken('dqkd_test_lag_seconds')).observe({ kind: 'a' }, 0.05);
      const { body } = await scrape(third);
      expect(body).toContain('dqkd_test_lag_seconds_bucket{le="0.01",kind="a"} 0');
      expect(body).toContain('dqkd_test_lag_seconds_bucket{le="0.1",kind="a"} 1');
    } finally {
      await third.close();
    }
  });

  withPromtool('serves what promtool check metrics accepts, default metrics included', async () => {
    const check = spawnSync('promtool', ['check', 'metrics'], {
      input: (await scrape(app)).body,
      encoding: 'utf8',
    });
    expect({ status: check.status, problems: check.stdout + check.stderr }).toEqual({
      status: 0,
      problems: '',
    });
  });

  it('refuses to define a counter that breaks the naming rules', () => {
    expect(() => counterProvider({ name: 'dqkd_leases', help: 'no _total' })).toThrow(MetricDefinitionError);
  });
});
