import type { Ledger } from '@dqkd/ledger';
import type { Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';

import type { PoolFiller } from './pool-filler';

/**
 * Runs the filler on a timer, one round at a time, and at once when a gateway of the site announces a
 * shortage; the timer never keeps the process alive on its own.
 */
export class PoolService implements OnApplicationBootstrap, OnModuleDestroy {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopListening: (() => Promise<void>) | undefined;

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
    if (this.running) return;
    this.running = this.filler
      .round()
      .then(
        () => undefined,
        (error: unknown) =>
          this.logger.error(`pool fill failed: ${error instanceof Error ? error.message : String(error)}`),
      )
      .finally(() => (this.running = undefined));
  }
}
