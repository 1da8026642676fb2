import 'reflect-metadata';

import { runProcess } from '@dqkd/runtime';

import { AppModule } from './app/app.module';

void runProcess({ app: 'key-generator', rootModule: (config) => AppModule.register(config) });
