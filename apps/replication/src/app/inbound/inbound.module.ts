import { DqkdConfig } from '@dqkd/config';
import {
  createEntropySources,
  loadKmeEntropyCredentials,
  type KmeEntropyCredentials,
  type KmeEntropySources,
} from '@dqkd/entropy';
import { Ledger } from '@dqkd/ledger';
import { metricToken, type Counter } from '@dqkd/metrics';
import { BUS, OutboxRelay, type Bus, type ConsumerSpec } from '@dqkd/messaging';
import {
  Logger,
  Module,
  type DynamicModule,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type OnModuleDestroy,
} from '@nestjs/common';

import {
  ASSIGNMENTS,
  BLOCKS,
  KCV_MISMATCHES,
  REFUSED,
  replicationMetricProviders,
  type ReplicationMetrics,
} from '../replication-metrics';
import { Acknowledgements } from './acknowledgements';
import { Assignments } from './assignments';
import { InboundService } from './inbound.service';
import { Regeneration } from './regeneration';
import { SiteKeys } from './site-keys';

const CREDENTIALS = Symbol('replication.credentials');
const ENTROPY = Symbol('replication.entropy');

class EntropyLifecycle implements OnApplicationShutdown {
  constructor(readonly entropy: KmeEntropySources) {}

  onApplicationShutdown(): void {
    this.entropy.close();
  }
}

/**
 * Relays what this app appends to the outbox (block acknowledgements) while the application runs. It stops
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

const reason = (error: unknown) => (error instanceof Error ? error.message : String(error));
const CONSUMER = Symbol('replication.consumer');
const METRICS = Symbol('replication.metrics');
const PREFIX = Symbol('replication.subject-prefix');

const PROVIDERS = [
  ...replicationMetricProviders,
  {
    provide: METRICS,
    inject: [REFUSED, BLOCKS, KCV_MISMATCHES, ASSIGNMENTS].map(metricToken),
    useFactory: (refused: Counter, blocks: Counter, kcvMismatches: Counter, assignments: Counter) => ({
      refused,
      blocks,
      kcvMismatches,
      assignments,
    }),
  },
  {
    provide: CREDENTIALS,
    inject: [DqkdConfig],
    useFactory: (config: DqkdConfig) => loadKmeEntropyCredentials(config),
  },
  {
    provide: SiteKeys,
    inject: [DqkdConfig, CREDENTIALS],
    useFactory: (config: DqkdConfig, credentials: KmeEntropyCredentials) =>
      new SiteKeys(config, credentials.identity),
  },
  {
    provide: ENTROPY,
    inject: [DqkdConfig, CREDENTIALS],
    useFactory: (config: DqkdConfig, credentials: KmeEntropyCredentials) =>
      new EntropyLifecycle(createEntropySources(config.network, credentials)),
  },
  {
    provide: RelayLifecycle,
    inject: [Ledger, BUS],
    useFactory: (ledger: Ledger, bus: Bus) => {
      const logger = new Logger('outbox-relay');
      const relay = new OutboxRelay(ledger.outbox, bus, {
        onError: (error) => logger.warn(`publish failed: ${reason(error)}`),
      });
      return new RelayLifecycle(relay);
    },
  },
  {
    provide: InboundService,
    inject: [DqkdConfig, Ledger, BUS, SiteKeys, ENTROPY, RelayLifecycle, CONSUMER, METRICS, PREFIX],
    useFactory: (
      config: DqkdConfig,
      ledger: Ledger,
      bus: Bus,
      keys: SiteKeys,
      { entropy }: EntropyLifecycle,
      { relay }: RelayLifecycle,
      consumer: ConsumerSpec,
      metrics: ReplicationMetrics,
      prefix: string | undefined,
    ) => {
      const logger = new Logger('replication');
      const peers = config.network.kmes.map((kme) => kme.id).filter((id) => id !== config.kme.id);
      return new InboundService(
        bus,
        consumer,
        config.kme.id,
        peers,
        prefix,
        {
          regeneration: new Regeneration(ledger, keys, entropy, relay, metrics, prefix, logger),
          acknowledgements: new Acknowledgements(ledger, keys, metrics, logger),
          assignments: new Assignments(ledger, keys, metrics, logger),
        },
        metrics,
        logger,
      );
    },
  },
];

@Module({})
export class InboundModule {
  /** `consumer`: the IN stream's consumer exactly as the topology provisioned it. */
  static register(consumer: ConsumerSpec, subjectPrefix: string | undefined): DynamicModule {
    return {
      module: InboundModule,
      providers: [
        { provide: CONSUMER, useValue: consumer },
        { provide: PREFIX, useValue: subjectPrefix },
        ...PROVIDERS,
      ],
    };
  }
}
