import { DqkdConfigModule, type ProcessConfig } from '@dqkd/config';
import { LEDGER_READINESS, LedgerModule } from '@dqkd/ledger';
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
        HealthModule.forRoot([LEDGER_READINESS]),
      ],
    };
  }
}
