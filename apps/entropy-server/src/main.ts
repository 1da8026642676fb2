import 'reflect-metadata';

import { runProcess } from '@dqkd/runtime';

import { AppModule } from './app/app.module';
import { loadEntropyServerSetup } from './app/entropy-server-setup';

void runProcess({
  app: 'entropy-server',
  loadConfig: (env) => loadEntropyServerSetup(env),
  owner: (setup) => setup.server.id,
  ownerField: 'server',
  rootModule: (setup) => AppModule.register(setup),
});
