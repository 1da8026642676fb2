import { InjectMetric, type Counter, type Gauge } from '@dqkd/metrics';
import { BackOff } from '@dqkd/runtime';
import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';

import { POOL_AVAILABLE_BYTES, SHREDDED_BYTES, SOURCE_FAILURES } from '../entropy-metrics';
import type { EntropyServerSetup } from '../entropy-server-setup';
import { ENTROPY_SERVER_SETUP, RANDOM_SOURCE } from '../entropy-server.tokens';
import type { RandomSource } from '../sources/random-source';
import { PoolStore } from './pool-store';

/** How often deadlines are enforced and pools topped up; samples outlive a deadline by at most this. */
export const KEEPER_TICK_MS = 250;
/**
 * After a failed fill the source is asked again in 1 s, doubling up to a minute: a QRNG service that is down
 * or refuses (HTTP 429 of a rate-limited API key) would otherwise get four requests a second, and the log as
 * many error lines, for as long as it fails.
 */
export const SOURCE_RETRY_MIN_MS = 1000;
export const SOURCE_RETRY_MAX_MS = 60_000;

/**
 * Owns the pools: fills them from the random source in the background, keeps `pool.ready` fresh pools,
 * shreds what passed its deadline, and overwrites everything at shutdown.
 */
@Injectable()
export class PoolKeeper implements OnApplicationBootstrap, OnApplicationShutdown {
  readonly store: PoolStore;
  private readonly logger = new Logger(PoolKeeper.name);
  private timer: NodeJS.Timeout | undefined;
  private filling: Promise<void> | undefined;
  /** Whether a pool was ever filled: the server serves from then on. */
  filledOnce = false;
  /** Whether the pools hold all the memory they may, as last told in the log. */
  private full = false;
  /** When the source may be asked again after failing. */
  private readonly retry = new BackOff(SOURCE_RETRY_MIN_MS, SOURCE_RETRY_MAX_MS);

  constructor(
    @Inject(ENTROPY_SERVER_SETUP) private readonly setup: EntropyServerSetup,
    @Inject(RANDOM_SOURCE) private readonly source: RandomSource,
    @InjectMetric(POOL_AVAILABLE_BYTES) private readonly available: Gauge,
    @InjectMetric(SHREDDED_BYTES) private readonly shreddedBytes: Counter,
    @InjectMetric(SOURCE_FAILURES) private readonly sourceFailures: Counter,
  ) {
    this.store = new PoolStore({
      serverId: setup.server.id,
      lifetimeMs: setup.env.pool.lifetimeMs,
      poolBytes: setup.env.pool.bytes,
      memoryBytes: setup.env.pool.memoryBytes,
      leaseRateBytes: setup.env.pool.leaseRateBytes,
      onShred: (bytes) => this.shreddedBytes.inc(bytes),
    });
  }

  /** The first pool is filled before the API listens, so a ready server can lease at once. */
  async onApplicationBootstrap(): Promise<void> {
    await this.fillOne();
    this.timer = setInterval(() => this.tick(), KEEPER_TICK_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.filling;
    this.store.shredAll();
    this.updateGauge();
    await this.source.close();
  }

  /** Called after every lease and read, so the gauge follows demand between ticks. */
  updateGauge(): void {
    this.available.set(this.store.availableBytes(Date.now()));
  }

  private tick(): void {
    this.store.shred(Date.now());
    this.updateGauge();
    const { ready } = this.setup.env.pool;
    if (this.filling || this.store.freshPools(Date.now()) >= ready) return;
    if (!this.retry.ready(Date.now())) return;
    const full = !this.store.canAddPool();
    if (full !== this.full) {
      this.full = full;
      if (full) {
        this.logger.warn(
          `the pools hold ENTROPY_POOL_MEMORY_BYTES (${this.setup.env.pool.memoryBytes}): none is filled ` +
            'until samples are read or reach their deadlines',
        );
      }
    }
    if (!full) void this.fillOne();
  }

  private fillOne(): Promise<void> {
    this.filling = (async () => {
      try {
        const bytes = await this.source.read(this.setup.env.pool.bytes);
        this.store.addPool(bytes, Date.now());
        this.filledOnce = true;
        this.retry.succeeded();
        this.updateGauge();
      } catch (error) {
        this.sourceFailures.inc();
        const delayMs = this.retry.failed(Date.now());
        const reason = error instanceof Error ? error.message : String(error);
        this.logger.error(`${reason}; trying again in ${delayMs} ms`);
      } finally {
        this.filling = undefined;
      }
    })();
    return this.filling;
  }
}
