import { type DynamicModule, Global, Module, type OnApplicationShutdown } from '@nestjs/common';

import { Ledger } from '../ledger';
import { openLedger, type OpenLedgerOptions } from '../open-ledger';

/** Injection token of the ledger's readiness check (`{ name, check() }`) for health probes. */
export const LEDGER_READINESS = Symbol('dqkd.ledger.readiness');

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
      providers: [
        { provide: Ledger, useFactory: () => openLedger(options) },
        {
          provide: LEDGER_READINESS,
          inject: [Ledger],
          useFactory: (ledger: Ledger) => ({ name: 'ledger', check: () => ledger.ping() }),
        },
      ],
      exports: [Ledger, LEDGER_READINESS],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.ledger.close();
  }
}
