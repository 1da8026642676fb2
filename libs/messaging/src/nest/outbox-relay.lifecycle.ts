import type { OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';

import type { OutboxRelay } from '../protocol/outbox-relay';

/**
 * Runs an app's outbox relay while the application runs. It stops on module destroy, before the
 * ledger and the bus close on shutdown; rows it leaves pending go out with the next relay to run.
 */
export class OutboxRelayLifecycle implements OnApplicationBootstrap, OnModuleDestroy {
  constructor(readonly relay: OutboxRelay) {}

  onApplicationBootstrap(): void {
    this.relay.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.relay.stop();
  }
}
