import { DqkdConfig, type Link as LinkConfig } from '@dqkd/config';
import {
  createEntropySources,
  loadKmeEntropyCredentials,
  type KmeEntropyCredentials,
  EntropySourcesLifecycle,
  type KmeEntropySources,
} from '@dqkd/entropy';
import { Ledger } from '@dqkd/ledger';
import { BUS, OutboxRelay, OutboxRelayLifecycle, type Bus } from '@dqkd/messaging';
import { BLOCKS_BURNED, metricToken, type Counter, type Histogram } from '@dqkd/metrics';
import { Logger, Module, type DynamicModule } from '@nestjs/common';

import { GENERATED, GENERATION_DURATION, generatorMetricProviders } from './generator-metrics';
import type { GeneratorSettings } from './generator-settings';
import { PoolFiller } from './pool-filler';
import { PoolService } from './pool.service';

const SETTINGS = Symbol('key-generator.settings');
const CREDENTIALS = Symbol('key-generator.credentials');
const ENTROPY = Symbol('key-generator.entropy');
const PREFIX = Symbol('key-generator.subject-prefix');

const PROVIDERS = [
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
    provide: EntropySourcesLifecycle,
    inject: [ENTROPY],
    useFactory: (entropy: KmeEntropySources) => new EntropySourcesLifecycle(entropy),
  },
  {
    provide: OutboxRelayLifecycle,
    inject: [Ledger, BUS],
    useFactory: (ledger: Ledger, bus: Bus) => {
      const logger = new Logger('outbox-relay');
      return new OutboxRelayLifecycle(
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
      OutboxRelayLifecycle,
      SETTINGS,
      metricToken(GENERATED),
      metricToken(BLOCKS_BURNED),
      metricToken(GENERATION_DURATION),
      PREFIX,
    ],
    useFactory: (
      config: DqkdConfig,
      ledger: Ledger,
      entropy: KmeEntropySources,
      credentials: KmeEntropyCredentials,
      { relay }: OutboxRelayLifecycle,
      settings: GeneratorSettings,
      generated: Counter,
      burned: Counter,
      generationDuration: Histogram,
      prefix: string | undefined,
    ) => {
      const logger = new Logger('pool');
      const metrics = { generated, burned, generationDuration };
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
      return new PoolService(filler, ledger, settings.intervalMs, logger);
    },
  },
];

@Module({})
export class PoolModule {
  /** `links`: this site's outgoing links, whose pools it fills and measures. */
  static register(
    settings: GeneratorSettings,
    subjectPrefix: string | undefined,
    links: readonly LinkConfig[],
  ): DynamicModule {
    return {
      module: PoolModule,
      providers: [
        { provide: SETTINGS, useValue: settings },
        { provide: PREFIX, useValue: subjectPrefix },
        ...generatorMetricProviders(links),
        ...PROVIDERS,
      ],
    };
  }
}
