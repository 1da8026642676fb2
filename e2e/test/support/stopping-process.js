// One process run by runProcess, as every app's main.js runs it, with a shutdown step given by STOP_STEP:
// `hangs` waits on a promise nothing settles (and nothing else is left running), `settles` finishes.
require('reflect-metadata');

const { Module } = require('@nestjs/common');
const { runProcess } = require('@dqkd/runtime');

class StopStep {
  onApplicationShutdown() {
    return process.env.STOP_STEP === 'hangs' ? new Promise(() => undefined) : Promise.resolve();
  }
}

class StoppingModule {}
Module({ providers: [StopStep] })(StoppingModule);

void runProcess({
  app: 'stopping-process',
  loadConfig: () => ({ env: { logLevel: 'info', http: { listenHost: '127.0.0.1', healthPort: 0 } } }),
  owner: () => 'test',
  ownerField: 'server',
  rootModule: () => ({ module: StoppingModule }),
});
