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
            // Ready once a pool was filled, and from then on: reads need no unleased bytes, and a server taken
            // out of its Service while leases are refused would fail the second reads of its samples, which
            // burns their blocks. A shortage shows as refused leases (DqkdEntropyServerRefusing).
            check: async () => {
              if (!keeper.filledOnce) throw new Error('no pool filled yet');
            },
          }),
        },
      ],
      exports: [POOL_READINESS],
    };
  }
}
