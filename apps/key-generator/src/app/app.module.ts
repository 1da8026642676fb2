import { DqkdConfigModule, type ProcessConfig } from '@dqkd/config';
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
        BusModule.forRoot({ app: 'key-generator', topology: { streams: [] } }),
        HealthModule.forRoot([BUS_READINESS]),
      ],
    };
  }
}
