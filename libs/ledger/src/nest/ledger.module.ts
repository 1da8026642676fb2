import { type DynamicModule, Global, Module, type OnApplicationShutdown } from '@nestjs/common';

import { Ledger } from '../ledger';
import { openLedger, type OpenLedgerOptions } from '../open-ledger';

/**
 * Provides this site's `Ledger` to every module, injected by class: `constructor(private readonly ledger: Ledger)`.
 * The ledger opens while the application is created, from the environment as openLedger reads it, and closes
 * (pool, and the embedded Postgres if it started one) when the application shuts down.
 */
@Global()
@Module({})
export class LedgerModule implements OnApplicationShutdown {
  constructor(private readonly ledger: Ledger) {}

  static forRoot(options: OpenLedgerOptions): DynamicModule {
    return {
      module: LedgerModule,
      global: true,
      providers: [{ provide: Ledger, useFactory: () => openLedger(options) }],
      exports: [Ledger],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.ledger.close();
  }
}
