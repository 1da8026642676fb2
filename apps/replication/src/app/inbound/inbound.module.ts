import { DqkdConfig } from '@dqkd/config';
import {
  createEntropySources,
  loadKmeEntropyCredentials,
  type KmeEntropyCredentials,
  EntropySourcesLifecycle,
} from '@dqkd/entropy';
import { HeldReservations, Ledger } from '@dqkd/ledger';
import { BLOCKS_BURNED, metricToken, type Counter, type Histogram } from '@dqkd/metrics';
import { BUS, OutboxRelay, OutboxRelayLifecycle, type Bus, type ConsumerSpec } from '@dqkd/messaging';
import { Logger, Module, type DynamicModule } from '@nestjs/common';

import {
  ASSIGNMENTS,
  KCV_MISMATCHES,
  LAG,
  REDELIVERED,
  REFUSED,
  REGENERATED,
  replicationMetricProviders,
  type ReplicationMetrics,
} from '../replication-metrics';
import { ClockSkew } from './clock-skew';
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
  {
    provide: METRICS,
    inject: [REFUSED, REGENERATED, KCV_MISMATCHES, ASSIGNMENTS, BLOCKS_BURNED, REDELIVERED, LAG].map(
      metricToken,
    ),
    useFactory: (
      refused: Counter,
      regenerated: Counter,
      kcvMismatches: Counter,
      assignments: Counter,
      burned: Counter,
      redelivered: Counter,
      lag: Histogram,
    ): ReplicationMetrics => ({ refused, regenerated, kcvMismatches, assignments, burned, redelivered, lag }),
  },
  // The assignments' cache of reservation bits, a provider of its own so that its gauge can read it.
  { provide: HeldReservations, useFactory: () => new HeldReservations() },
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
    inject: [
      DqkdConfig,
      Ledger,
      BUS,
      SiteKeys,
      ENTROPY,
      OutboxRelayLifecycle,
      CONSUMER,
      METRICS,
      PREFIX,
      ClockSkew,
      HeldReservations,
    ],
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
      skew: ClockSkew,
      held: HeldReservations,
    ) => {
      const logger = new Logger('replication');
      const peers = peersOf(config.network.kmes, config.kme.id);
      return new InboundService(
        bus,
        consumer,
        config.kme.id,
        peers,
        prefix,
        {
          regeneration: new Regeneration(ledger, keys, entropy, relay, metrics, prefix, logger),
          acknowledgements: new Acknowledgements(ledger, keys, metrics, logger),
          assignments: new Assignments(ledger, keys, held, metrics, logger),
        },
        metrics,
        skew,
        logger,
      );
    },
  },
];

const peersOf = (kmes: readonly { id: string }[], self: string) =>
  kmes.map((kme) => kme.id).filter((id) => id !== self);

@Module({})
export class InboundModule {
  /** `consumer`: the IN stream's consumer exactly as the topology provisioned it. */
  static register(
    consumer: ConsumerSpec,
    subjectPrefix: string | undefined,
    peers: readonly string[],
  ): DynamicModule {
    return {
      module: InboundModule,
      providers: [
        { provide: CONSUMER, useValue: consumer },
        { provide: PREFIX, useValue: subjectPrefix },
        ...replicationMetricProviders(peers),
        ...PROVIDERS,
      ],
    };
  }
}
