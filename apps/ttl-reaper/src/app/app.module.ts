import { DqkdConfigModule, type ProcessConfig } from '@dqkd/config';
import { LEDGER_READINESS, LedgerModule } from '@dqkd/ledger';
import { MetricsModule } from '@dqkd/metrics';
import { HealthModule } from '@dqkd/runtime';
import { Module, type DynamicModule } from '@nestjs/common';

import type { AppOptions } from './app-options';
import { reaperSettings } from './reaper/reaper-settings';
import { ReaperModule } from './reaper/reaper.module';

@Module({})
export class AppModule {
  static register(config: ProcessConfig, options: AppOptions = {}): DynamicModule {
    // Parsed here, where a bad value still stops the process with the configuration exit code.
    const settings = reaperSettings(process.env);
    return {
      module: AppModule,
      imports: [
        DqkdConfigModule.forRoot(config),
        LedgerModule.forRoot({ name: config.env.kmeId, env: options.ledgerEnv }),
        MetricsModule.forRoot(),
        HealthModule.forRoot([LEDGER_READINESS]),
        ReaperModule.register(settings),
      ],
    };
  }
}
