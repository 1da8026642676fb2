import { Module, type DynamicModule, type InjectionToken } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';

import { HealthController, READINESS_CHECKS } from './health.controller';
import type { ReadinessCheck } from './readiness-check';

@Module({})
export class HealthModule {
  /** `readiness`: the tokens of the ReadinessChecks this app depends on. */
  static forRoot(readiness: readonly InjectionToken[] = []): DynamicModule {
    return {
      module: HealthModule,
      imports: [TerminusModule.forRoot({ logger: false })],
      controllers: [HealthController],
      providers: [
        {
          provide: READINESS_CHECKS,
          inject: [...readiness],
          useFactory: (...checks: ReadinessCheck[]) => checks,
        },
      ],
    };
  }
}
