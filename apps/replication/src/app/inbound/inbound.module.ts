import { DqkdConfig } from '@dqkd/config';
import {
  createEntropySources,
  loadKmeEntropyCredentials,
  type KmeEntropyCredentials,
  EntropySourcesLifecycle,
} from '@dqkd/entropy';
import { Ledger } from '@dqkd/ledger';
import { metricToken, type Counter } from '@dqkd/metrics';
import { BUS, OutboxRelay, OutboxRelayLifecycle, type Bus, type ConsumerSpec } from '@dqkd/messaging';
import { Logger, Module, type DynamicModule } from '@nestjs/common';

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
      new EntropySourcesLifecycle(createEntropySources(config.network, credentials)),
  },
  {
    provide: OutboxRelayLifecycle,
    inject: [Ledger, BUS],
    useFactory: (ledger: Ledger, bus: Bus) => {
      const logger = new Logger('outbox-relay');
      const relay = new OutboxRelay(ledger.outbox, bus, {
        onError: (error) => logger.warn(`publish failed: ${reason(error)}`),
      });
      return new OutboxRelayLifecycle(relay);
    },
  },
  {
    provide: InboundService,
    inject: [DqkdConfig, Ledger, BUS, SiteKeys, ENTROPY, OutboxRelayLifecycle, CONSUMER, METRICS, PREFIX],
    useFactory: (
      config: DqkdConfig,
      ledger: Ledger,
      bus: Bus,
      keys: SiteKeys,
      { entropy }: EntropySourcesLifecycle,
      { relay }: OutboxRelayLifecycle,
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
