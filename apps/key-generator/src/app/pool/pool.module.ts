import { DqkdConfig } from '@dqkd/config';
import {
  createEntropySources,
  loadKmeEntropyCredentials,
  type KmeEntropyCredentials,
  type KmeEntropySources,
} from '@dqkd/entropy';
import { Ledger } from '@dqkd/ledger';
import { BUS, OutboxRelay, type Bus } from '@dqkd/messaging';
import { metricToken, type Counter } from '@dqkd/metrics';
import {
  Logger,
  Module,
  type DynamicModule,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type OnModuleDestroy,
} from '@nestjs/common';

import { GENERATED, generatorMetricProviders, UNCONFIRMED } from './generator-metrics';
import type { GeneratorSettings } from './generator-settings';
import { PoolFiller } from './pool-filler';
import { PoolService } from './pool.service';

const SETTINGS = Symbol('key-generator.settings');
const CREDENTIALS = Symbol('key-generator.credentials');
const ENTROPY = Symbol('key-generator.entropy');
const PREFIX = Symbol('key-generator.subject-prefix');

class EntropyLifecycle implements OnApplicationShutdown {
  constructor(private readonly entropy: KmeEntropySources) {}

  onApplicationShutdown(): void {
    this.entropy.close();
  }
}

/**
 * Relays what this app appends to the outbox (block metadata) while the application runs. It stops
 * before the ledger and the bus close; rows it leaves pending go out with the next relay to run.
 */
class RelayLifecycle implements OnApplicationBootstrap, OnModuleDestroy {
  constructor(readonly relay: OutboxRelay) {}

  onApplicationBootstrap(): void {
    this.relay.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.relay.stop();
  }
}

const PROVIDERS = [
  ...generatorMetricProviders,
  {
    provide: CREDENTIALS,
    inject: [DqkdConfig],
    useFactory: (config: DqkdConfig) => loadKmeEntropyCredentials(config),
  },
  {
    provide: ENTROPY,
    inject: [DqkdConfig, CREDENTIALS],
    useFactory: (config: DqkdConfig, credentials: KmeEntropyCredentials) =>
      createEntropySources(config.network, credentials),
  },
  {
    provide: EntropyLifecycle,
    inject: [ENTROPY],
    useFactory: (entropy: KmeEntropySources) => new EntropyLifecycle(entropy),
  },
  {
    provide: RelayLifecycle,
    inject: [Ledger, BUS],
    useFactory: (ledger: Ledger, bus: Bus) => {
      const logger = new Logger('outbox-relay');
      return new RelayLifecycle(
        new OutboxRelay(ledger.outbox, bus, {
          onError: (error) =>
            logger.warn(`publish failed: ${error instanceof Error ? error.message : String(error)}`),
        }),
      );
    },
  },
  {
    provide: PoolService,
    inject: [
      DqkdConfig,
      Ledger,
      ENTROPY,
      CREDENTIALS,
      RelayLifecycle,
      SETTINGS,
      metricToken(GENERATED),
      metricToken(UNCONFIRMED),
      PREFIX,
    ],
    useFactory: (
      config: DqkdConfig,
      ledger: Ledger,
      entropy: KmeEntropySources,
      credentials: KmeEntropyCredentials,
      { relay }: RelayLifecycle,
      settings: GeneratorSettings,
      generated: Counter,
      unconfirmed: Counter,
      prefix: string | undefined,
    ) => {
      const logger = new Logger('pool');
      const metrics = { generated, unconfirmed };
      const filler = new PoolFiller({
        config,
        ledger,
        entropy,
        credentials,
        relay,
        settings,
        metrics,
        prefix,
        logger,
      });
      return new PoolService(filler, settings.intervalMs, logger);
    },
  },
];

@Module({})
export class PoolModule {
  static register(settings: GeneratorSettings, subjectPrefix: string | undefined): DynamicModule {
    return {
      module: PoolModule,
      providers: [
        { provide: SETTINGS, useValue: settings },
        { provide: PREFIX, useValue: subjectPrefix },
        ...PROVIDERS,
      ],
    };
  }
}
