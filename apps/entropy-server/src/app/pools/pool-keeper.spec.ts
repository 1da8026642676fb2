import type { Counter, Gauge } from '@dqkd/metrics';

import type { EntropyServerSetup } from '../entropy-server-setup';
import { RandomSourceFailed, type RandomSource } from '../sources/random-source';
import { KEEPER_TICK_MS, PoolKeeper, SOURCE_RETRY_MAX_MS } from './pool-keeper.service';

const POOL_BYTES = 4096;

/** A random source that is down until `up` is set, counting the reads asked of it. */
class FlakySource implements RandomSource {
  readonly name = 'flaky';
  reads = 0;
  up = false;

  async read(bytes: number): Promise<Uint8Array> {
    this.reads++;
    if (!this.up) throw new RandomSourceFailed(this.name, 'HTTP 429');
    return new Uint8Array(bytes).fill(7);
  }

  async close(): Promise<void> {}
}

describe('PoolKeeper', () => {
  const setup = {
    server: { id: 'entropy-1' },
    env: {
      pool: {
        bytes: POOL_BYTES,
        lifetimeMs: 3_600_000,
        ready: 2,
        memoryBytes: 16 * POOL_BYTES,
        leaseRateBytes: 2 * POOL_BYTES,
      },
    },
  } as unknown as EntropyServerSetup;
  let failures: number;
  const metrics = {
    gauge: { set: () => undefined } as unknown as Gauge,
    shredded: { inc: () => undefined } as unknown as Counter,
    failures: { inc: () => void failures++ } as unknown as Counter,
  };

  beforeEach(() => {
    failures = 0;
    jest.useFakeTimers();
  });

  afterEach(() => jest.useRealTimers());

  it('asks a failing source again after 1 s, doubling, not every tick, and fills at once when it is back', async () => {
    const source = new FlakySource();
    const keeper = new PoolKeeper(setup, source, metrics.gauge, metrics.shredded, metrics.failures);
    await keeper.onApplicationBootstrap();
    expect(source.reads).toBe(1);
    // Asked again at 1, 3 and 7 s: four reads in 10 s, where every tick (40 of them) asked before.
    await jest.advanceTimersByTimeAsync(10_000);
    expect(source.reads).toBe(4);
    expect(failures).toBe(4);
    // The delay stops doubling at a minute.
    await jest.advanceTimersByTimeAsync(10 * SOURCE_RETRY_MAX_MS);
    const capped = source.reads;
    await jest.advanceTimersByTimeAsync(2 * SOURCE_RETRY_MAX_MS + KEEPER_TICK_MS);
    expect(source.reads - capped).toBeGreaterThanOrEqual(2);
    source.up = true;
    await jest.advanceTimersByTimeAsync(SOURCE_RETRY_MAX_MS + 2 * KEEPER_TICK_MS);
    expect(keeper.filledOnce).toBe(true);
    expect(keeper.store.poolIds()).toHaveLength(2);
    await keeper.onApplicationShutdown();
  });
});
