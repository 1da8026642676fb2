import { Ledger } from '@dqkd/ledger';
import { metricToken, type Counter } from '@dqkd/metrics';
import { Logger, Module, type DynamicModule } from '@nestjs/common';

import { REAPED, reaperMetricProviders, SCRUBBED } from './reaper-metrics';
import type { ReaperSettings } from './reaper-settings';
import { ReaperService } from './reaper.service';

@Module({})
export class ReaperModule {
  static register(settings: ReaperSettings): DynamicModule {
    return {
      module: ReaperModule,
      providers: [
        ...reaperMetricProviders,
        {
          provide: ReaperService,
          inject: [Ledger, metricToken(REAPED), metricToken(SCRUBBED)],
          useFactory: (ledger: Ledger, reaped: Counter, scrubbed: Counter) =>
            new ReaperService(ledger, settings, { reaped, scrubbed }, new Logger('reaper')),
        },
      ],
    };
  }
}
