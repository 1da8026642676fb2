import { DqkdConfigModule, type ProcessConfig } from '@dqkd/config';
import { LEDGER_READINESS, LEDGER_STREAM_REGISTER, LedgerModule } from '@dqkd/ledger';
import { MetricsModule } from '@dqkd/metrics';
import { BUS_READINESS, BusModule, siteTopology } from '@dqkd/messaging';
import { HealthModule } from '@dqkd/runtime';
import { Module, type DynamicModule } from '@nestjs/common';

import type { AppOptions } from './app-options';
import { InboundModule } from './inbound/inbound.module';
import { REPLICATION_POOL_SIZE } from './inbound/inbound.service';
import { replicationSettings } from './replication-settings';

@Module({})
export class AppModule {
  static register(config: ProcessConfig, options: AppOptions = {}): DynamicModule {
    const prefix = options.subjectPrefix ?? config.env.nats.subjectPrefix;
    const self = config.env.kmeId;
    const peers = config.network.kmes.map((kme) => kme.id).filter((id) => id !== self);
    const settings = replicationSettings(process.env);
    // Sites on NATS servers joined by leaf nodes reach a peer's OUT stream through its JetStream domain;
    // sites sharing one NATS (tests, a single cluster) have no domains to cross.
    const topology = siteTopology(self, peers, {
      prefix,
      ackWaitMs: settings.ackWaitMs,
      replicas: config.env.nats.streamReplicas,
      peerDomain: settings.peerDomains ? (peer) => config.network.kme(peer)?.natsDomain : undefined,
    });
    return {
      module: AppModule,
      imports: [
        DqkdConfigModule.forRoot(config),
        LedgerModule.forRoot({ name: self, env: options.ledgerEnv, poolSize: REPLICATION_POOL_SIZE }),
        BusModule.forRoot({ app: 'replication', topology, streamRegister: LEDGER_STREAM_REGISTER }),
        MetricsModule.forRoot(),
        HealthModule.forRoot([LEDGER_READINESS, BUS_READINESS]),
        InboundModule.register(topology.consumers![0], prefix, peers),
      ],
    };
  }
}
