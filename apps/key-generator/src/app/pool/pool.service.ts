import type { Ledger } from '@dqkd/ledger';
import { BackOff, describeError } from '@dqkd/runtime';
import type { Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';

import { RETRY_MAX_MS, RETRY_MIN_MS, type PoolFiller } from './pool-filler';

/**
 * Runs the filler on a timer, one round at a time, and at once when a gateway of the site announces a
 * shortage; the timer never keeps the process alive on its own.
 */
export class PoolService implements OnApplicationBootstrap, OnModuleDestroy {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopListening: (() => Promise<void>) | undefined;
  /** Holds rounds back after one that failed; the wait doubles as a failing link's does. */
  private readonly pause = new BackOff(RETRY_MIN_MS, RETRY_MAX_MS);

  constructor(
    private readonly filler: PoolFiller,
    private readonly ledger: Ledger,
    private readonly intervalMs: number,
    private readonly logger: Logger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.stopListening = await this.ledger.onShortage((linkId, bits) => {
      this.filler.shortOf(linkId, bits);
      this.tick();
    });
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref();
    this.tick();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    this.filler.stop();
    await this.stopListening?.();
    await this.running;
  }

  private tick(): void {
    if (this.running || !this.pause.ready(Date.now())) return;
    this.running = this.filler
      .round()
      .then(
        () => this.pause.succeeded(),
        (error: unknown) => {
          // The ledger is down (a round's own failures are the links'): every tick would log it again.
          const delayMs = this.pause.failed(Date.now());
          this.logger.error(`pool fill failed: ${describeError(error)}; trying again in ${delayMs} ms`);
        },
      )
      .finally(() => (this.running = undefined));
  }
}
