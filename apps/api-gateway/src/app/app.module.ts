import { DqkdConfigModule, type ProcessConfig } from '@dqkd/config';
import { LEDGER_READINESS, LEDGER_STREAM_REGISTER, LedgerModule } from '@dqkd/ledger';
import { BUS_READINESS, BusModule, publisherTopology } from '@dqkd/messaging';
import { MetricsModule } from '@dqkd/metrics';
import { HealthModule } from '@dqkd/runtime';
import { Module, type DynamicModule } from '@nestjs/common';

import type { GatewayOptions } from './gateway-options';
import { KeysModule } from './keys/keys.module';

@Module({})
export class AppModule {
  static register(config: ProcessConfig, options: GatewayOptions = {}): DynamicModule {
    const prefix = options.subjectPrefix ?? config.env.nats.subjectPrefix;
    return {
      module: AppModule,
      imports: [
        DqkdConfigModule.forRoot(config),
        LedgerModule.forRoot({ name: config.env.kmeId, env: options.ledgerEnv }),
        BusModule.forRoot({
          app: 'api-gateway',
          streamRegister: LEDGER_STREAM_REGISTER,
          topology: publisherTopology(config.env.kmeId, {
            prefix,
            replicas: config.env.nats.streamReplicas,
          }),
        }),
        MetricsModule.forRoot(),
        HealthModule.forRoot([LEDGER_READINESS, BUS_READINESS]),
        KeysModule.register({ ...options, subjectPrefix: prefix }, config.network, config.env.kmeId),
      ],
    };
  }
}
