import { DqkdConfigModule, type ProcessConfig } from '@dqkd/config';
import { LEDGER_READINESS, LEDGER_STREAM_REGISTER, LedgerModule } from '@dqkd/ledger';
import { MetricsModule } from '@dqkd/metrics';
import { BUS_READINESS, BusModule, publisherTopology } from '@dqkd/messaging';
import { HealthModule } from '@dqkd/runtime';
import { Module, type DynamicModule } from '@nestjs/common';

import type { AppOptions } from './app-options';
import { generatorSettings } from './pool/generator-settings';
import { PoolModule } from './pool/pool.module';

@Module({})
export class AppModule {
  static register(config: ProcessConfig, options: AppOptions = {}): DynamicModule {
    const prefix = options.subjectPrefix ?? config.env.nats.subjectPrefix;
    // Parsed here, where a bad value still stops the process with the configuration exit code.
    const settings = generatorSettings(process.env);
    return {
      module: AppModule,
      imports: [
        DqkdConfigModule.forRoot(config),
        LedgerModule.forRoot({ name: config.env.kmeId, env: options.ledgerEnv }),
        BusModule.forRoot({
          app: 'key-generator',
          streamRegister: LEDGER_STREAM_REGISTER,
          topology: publisherTopology(config.env.kmeId, {
            prefix,
            replicas: config.env.nats.streamReplicas,
          }),
        }),
        MetricsModule.forRoot(),
        HealthModule.forRoot([LEDGER_READINESS, BUS_READINESS]),
        PoolModule.register(settings, prefix, config.network.linksFrom(config.env.kmeId)),
      ],
    };
  }
}
