import { Module, type DynamicModule, type InjectionToken } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';

import { dependencyGaugeProvider, labelledChecks } from './dependency-gauge';
import { HealthController, READINESS_CHECKS } from './health.controller';
import type { ReadinessCheck } from './readiness-check';

@Module({})
export class HealthModule {
  /**
   * `readiness`: the tokens of the ReadinessChecks this app depends on; each is also a series of
   * dqkd_dependency_up (MetricsModule.forRoot must be imported too).
   */
  static forRoot(readiness: readonly InjectionToken[] = []): DynamicModule {
    return {
      module: HealthModule,
      imports: [TerminusModule.forRoot({ logger: false })],
      controllers: [HealthController],
      providers: [
        {
          provide: READINESS_CHECKS,
          inject: [...readiness],
          useFactory: (...checks: ReadinessCheck[]) => labelledChecks(checks),
        },
        dependencyGaugeProvider,
      ],
    };
  }
}
