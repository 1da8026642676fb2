import { MetricDefinitionError, MetricsModule } from '@dqkd/metrics';
import type { DynamicModule } from '@nestjs/common';

import { startApp, type RunnableConfig } from '../run-process';
import { HealthModule } from './health.module';

const CHECK = Symbol('check');

/** startApp, quiet and on any free port, of an app whose one readiness check goes by `name` and answers. */
function startWithCheck(name: string) {
  const config: RunnableConfig = {
    env: { logLevel: 'silent', http: { listenHost: '127.0.0.1', healthPort: 0 } },
  };
  const rootModule = (): DynamicModule => ({
    module: class CheckedApp {},
    global: true,
    imports: [MetricsModule.forRoot(), HealthModule.forRoot([CHECK])],
    providers: [{ provide: CHECK, useValue: { name, check: () => Promise.resolve() } }],
    exports: [CHECK],
  });
  return startApp({ app: 'test', rootModule, loadConfig: () => config, owner: () => 'x' }, {});
}

describe('dqkd_dependency_up', () => {
  it('has one series per readiness check the app registers, named as the check', async () => {
    const app = await startWithCheck('ledger');
    try {
      const metrics = await (await fetch(`${await app.getUrl()}/metrics`)).text();
      expect(metrics.match(/^dqkd_dependency_up\{.*$/gm)).toEqual([
        'dqkd_dependency_up{dependency="ledger"} 1',
      ]);
    } finally {
      await app.close();
    }
  });

  it('stops at start an app whose readiness check goes by a name the gauge does not list', async () => {
    const outcome = await startWithCheck('cache').then(
      (app) => app.close().then(() => 'started'),
      (error: unknown) => error,
    );
    expect(outcome).toEqual(
      new MetricDefinitionError(
        'dqkd_dependency_up: readiness check "cache" is not one of its dependency values (ledger, bus, pools)',
      ),
    );
  });
});
