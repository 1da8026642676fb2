import { MetricsModule } from '@dqkd/metrics';
import { HealthModule, type ReadinessCheck } from '@dqkd/runtime';
import { Module, type DynamicModule } from '@nestjs/common';

import { EntropyApiServer } from './api/entropy-api.server';
import { entropyMetricProviders } from './entropy-metrics';
import type { EntropyServerSetup } from './entropy-server-setup';
import { ENTROPY_SERVER_SETUP, POOL_READINESS, RANDOM_SOURCE } from './entropy-server.tokens';
import { PoolKeeper } from './pools/pool-keeper.service';
import { createRandomSource } from './sources/create-random-source';

@Module({})
export class AppModule {
  static register(setup: EntropyServerSetup): DynamicModule {
    // Global, so that HealthModule can inject the pools' readiness check.
    return {
      module: AppModule,
      global: true,
      imports: [
        // Servers are shared by every site, so a series says which server it is rather than a site.
        MetricsModule.forRoot({ defaultLabels: { server: setup.server.id } }),
        HealthModule.forRoot([POOL_READINESS]),
      ],
      providers: [
        { provide: ENTROPY_SERVER_SETUP, useValue: setup },
        { provide: RANDOM_SOURCE, useFactory: () => createRandomSource(setup.env.source) },
        ...entropyMetricProviders,
        PoolKeeper,
        EntropyApiServer,
        {
          provide: POOL_READINESS,
          inject: [PoolKeeper],
          useFactory: (keeper: PoolKeeper): ReadinessCheck => ({
            name: 'pools',
            check: async () => {
              if (keeper.store.availableBytes(Date.now()) === 0)
                throw new Error('no pool has unleased bytes');
            },
          }),
        },
      ],
      exports: [POOL_READINESS],
    };
  }
}
