import 'reflect-metadata';

import { runProcess } from '@dqkd/runtime';

import { AppModule } from './app/app.module';

void runProcess({
  app: 'api-gateway',
  rootModule: (config) =>
    AppModule.register(config, {
      sealingIdentityFile: process.env['DQKD_SEALING_IDENTITY_FILE'] || undefined,
    }),
});
