import { DqkdConfigModule, type ProcessConfig } from '@dqkd/config';
import { LEDGER_READINESS, LedgerModule } from '@dqkd/ledger';
import { BUS_READINESS, BusModule } from '@dqkd/messaging';
import { HealthModule } from '@dqkd/runtime';
import { Module, type DynamicModule } from '@nestjs/common';

@Module({})
export class AppModule {
  static register(config: ProcessConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        DqkdConfigModule.forRoot(config),
        LedgerModule.forRoot({ name: config.env.kmeId }),
        BusModule.forRoot({ app: 'replication', topology: { streams: [] } }),
        HealthModule.forRoot([LEDGER_READINESS, BUS_READINESS]),
      ],
    };
  }
}
