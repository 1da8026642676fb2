import { DqkdConfig } from '@dqkd/config';
import { type DynamicModule, Global, Module, type OnApplicationShutdown } from '@nestjs/common';

import { Ledger } from '../ledger';
import { openLedger, type OpenLedgerOptions } from '../open-ledger';

/** Injection token of the ledger's readiness check (`{ name, check() }`) for health probes. */
export const LEDGER_READINESS = Symbol('dqkd.ledger.readiness');

/**
 * Injection token of the ledger's record of the streams the site's peers copy (`ledger.busStreams`), for the
 * bus (BusModule's `streamRegister`): a stream lost with NATS' store is then not made again at a start.
 */
export const LEDGER_STREAM_REGISTER = Symbol('dqkd.ledger.stream-register');

/**
 * Provides this site's `Ledger` to every module, injected by class: `constructor(private readonly ledger: Ledger)`.
 * The ledger opens while the application is created — from the app's validated DqkdConfig when it has one,
 * else from process.env — and closes (pool, and the embedded Postgres if it started one) on shutdown.
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
        {
          provide: Ledger,
          inject: [{ token: DqkdConfig, optional: true }],
          useFactory: (config: DqkdConfig | undefined) =>
            openLedger({ ...options, env: options.env ?? (config ? ledgerEnv(config) : undefined) }),
        },
        {
          provide: LEDGER_READINESS,
          inject: [Ledger],
          useFactory: (ledger: Ledger) => ({ name: 'ledger', check: () => ledger.ping() }),
        },
        {
          provide: LEDGER_STREAM_REGISTER,
          inject: [Ledger],
          useFactory: (ledger: Ledger) => ledger.busStreams,
        },
      ],
      exports: [Ledger, LEDGER_READINESS, LEDGER_STREAM_REGISTER],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.ledger.close();
  }
}

/**
 * The variables openLedger reads, from the process's validated configuration rather than process.env, so that
 * several sites can run in one process (the embedded default) each with its own database.
 */
export function ledgerEnv(config: DqkdConfig): NodeJS.ProcessEnv {
  const { database, home } = config.env;
  const { kek } = database;
  return {
    DATABASE_URL: database.url,
    // A file is passed on as a file, so that what is wrong with it is told under DQKD_KEK_FILE.
    ...(kek?.file === undefined ? { DQKD_KEK: kek?.read() } : { DQKD_KEK_FILE: kek.file }),
    DQKD_MIGRATE: String(database.migrate),
    DQKD_HOME: home,
  };
}
