import { Global, Module, type DynamicModule } from '@nestjs/common';

import type { ProcessEnv } from '../env/process-env';
import type { Kme, NetworkConfig } from '../network/network-config';
import { loadProcessConfig, type ProcessConfig } from '../process-config';

/** The validated configuration of this process, injected by class: `constructor(private readonly config: DqkdConfig)`. */
export class DqkdConfig implements ProcessConfig {
  /** This process's own KME. */
  readonly kme: Kme;

  constructor(
    readonly network: NetworkConfig,
    readonly env: ProcessEnv,
  ) {
    const kme = network.kme(env.kmeId);
    // loadProcessConfig already refuses an unknown KME_ID; this guards hand-built configurations.
    if (!kme) throw new Error(`KME_ID "${env.kmeId}" is not a KME of ${network.file}`);
    this.kme = kme;
  }
}

@Global()
@Module({})
export class DqkdConfigModule {
  /**
   * Pass the configuration main.ts already loaded inside exitOnConfigError; without one, the
   * environment is validated when the application is created.
   */
  static forRoot(config?: ProcessConfig): DynamicModule {
    return {
      module: DqkdConfigModule,
      providers: [
        {
          provide: DqkdConfig,
          useFactory: () => {
            const { network, env } = config ?? loadProcessConfig();
            return new DqkdConfig(network, env);
          },
        },
      ],
      exports: [DqkdConfig],
    };
  }
}
