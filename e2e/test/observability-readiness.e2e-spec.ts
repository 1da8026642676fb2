import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

import { startEmbeddedPostgres, type EmbeddedPostgres } from '@dqkd/ledger';

import { EntropyNetwork } from '../../libs/entropy/test/entropy-network';
import { freePort, PrivateNatsServer } from '../../libs/messaging/test/support/nats-server';
import { AppProcess } from './support/app-process';

interface Probe {
  readonly status: number;
  readonly body: { status?: string; info?: Record<string, unknown>; error?: Record<string, unknown> };
}

/**
 * An api-gateway process on a Postgres cluster and a nats-server of this test's own (private ports, never the
 * shared 5432 and 4222): readiness follows each dependency down and back up, while liveness stays up, so
 * Kubernetes takes the gateway out of its Service and back without restarting it. A key-generator on the same
 * ledger shows how an app working on timers reports the outage: once per back-off, not once per round.
 */
describe('readiness of an app whose Postgres or NATS stops', () => {
  let dir: string;
  let entropy: EntropyNetwork;
  let nats: PrivateNatsServer;
  let postgresPort: number;
  let postgres: EmbeddedPostgres;
  let gateway: AppProcess;
  let generator: AppProcess;
  let health: string;

  const startPostgres = () =>
    startEmbeddedPostgres({ dir: path.join(dir, 'postgres'), name: 'kme-east', port: postgresPort });

  const probe = async (which: 'live' | 'ready'): Promise<Probe> => {
    const response = await fetch(`${health}/health/${which}`, { signal: AbortSignal.timeout(15_000) });
    return { status: response.status, body: (await response.json()) as Probe['body'] };
  };

  /** dqkd_dependency_up of each dependency, as a scrape finds it. */
  const dependencies = async (): Promise<Record<string, number>> => {
    const metrics = await (await fetch(`${health}/metrics`, { signal: AbortSignal.timeout(15_000) })).text();
    return Object.fromEntries(
      [...metrics.matchAll(/^dqkd_dependency_up\{dependency="(\w+)"\} (\d+)$/gm)].map((line) => [
        line[1]!,
        Number(line[2]),
      ]),
    );
  };

  /** Polls readiness until it answers `status`; returns that answer. */
  async function readinessBecomes(status: number, timeoutMs = 40_000): Promise<Probe> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const answer = await probe('ready');
      if (answer.status === status) return answer;
      if (Date.now() > deadline)
        throw new Error(`readiness still ${JSON.stringify(answer)}\n${gateway.text}`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'dqkd-readiness-'));
    entropy = await EntropyNetwork.create({ kmes: ['kme-east', 'kme-west'] });
    nats = await PrivateNatsServer.start();
    postgresPort = await freePort();
    postgres = await startPostgres();
    const env = {
      KME_ID: 'kme-east',
      DQKD_NETWORK_FILE: entropy.networkFile,
      DQKD_HOME: path.join(entropy.dir, '.dqkd'),
      DATABASE_URL: postgres.url,
      DQKD_KEK: `1:${randomBytes(32).toString('base64')}`,
      NATS_URL: nats.url,
      DQKD_SUBJECT_PREFIX: `ready${randomBytes(4).toString('hex')}`,
      DQKD_HEALTH_PORT: '0',
      LOG_LEVEL: 'info',
    };
    gateway = AppProcess.start(
      'api-gateway',
      { ...env, DQKD_MIGRATE: 'true', DQKD_API_PORT: '0' },
      entropy.dir,
    );
    await gateway.waitFor('api-gateway of kme-east is running', 40_000);
    health = /health on (http:\/\/[^/\s"]+)\//.exec(gateway.text)![1]!;
    // Its entropy servers are not started: each try of its link fails and backs off, as it would in production.
    generator = AppProcess.start('key-generator', env, entropy.dir);
    await generator.waitFor('key-generator of kme-east is running', 40_000);
  }, 90_000);

  afterAll(async () => {
    for (const app of [gateway, generator]) app?.signal('SIGTERM');
    await gateway?.exit().catch(() => undefined);
    await generator?.exit().catch(() => undefined);
    await postgres?.stop();
    await nats?.stop();
    entropy?.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is ready with both up', async () => {
    expect(await probe('ready')).toMatchObject({
      status: 200,
      body: { status: 'ok', info: { ledger: { status: 'up' }, bus: { status: 'up' } } },
    });
    // Its own dependencies only: an entropy server's pools are not the gateway's.
    expect(await dependencies()).toEqual({ ledger: 1, bus: 1 });
  });

  it('serves its metrics beside the probes, with the default process metrics of its own process', async () => {
    const metrics = await (await fetch(`${health}/metrics`)).text();
    expect(metrics).toMatch(/^dqkd_process_cpu_user_seconds_total \d/m);
    expect(metrics).toMatch(/^dqkd_etsi_responses_total\{route="enc_keys",status="200"\} 0$/m);
  });

  it('turns unready while Postgres is stopped, naming the ledger, and ready once it is back', async () => {
    const outageStart = Date.now();
    const before = generator.text.length;
    await postgres.stop();
    const down = await readinessBecomes(503);
    expect(down.body).toMatchObject({ status: 'error', error: { ledger: { status: 'down' } } });
    expect(down.body.info).toMatchObject({ bus: { status: 'up' } });
    expect((await probe('live')).status).toBe(200);
    // What an alert sees while the process runs on, scraped as ever.
    expect(await dependencies()).toEqual({ ledger: 0, bus: 1 });

    // The key-generator's rounds (every 200 ms) fail meanwhile; it says so, then waits 1 s, 2 s, 4 s, 8 s.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, outageStart + 8_000 - Date.now())));
    const outage = generator.text.slice(before).split('\n');
    const reported = outage.filter((line) => line.includes('pool fill failed'));
    expect(reported.length).toBeGreaterThan(0);
    expect(reported[0]).toContain('trying again in 1000 ms');
    // A line a round (the code before logged about 80 in these 8 s): the rounds and the link back off.
    expect(outage.filter((line) => /"level":"error"/.test(line)).length).toBeLessThanOrEqual(10);

    const restart = generator.text.length;
    postgres = await startPostgres();
    expect((await readinessBecomes(200)).body).toMatchObject({ info: { ledger: { status: 'up' } } });
    expect(await dependencies()).toEqual({ ledger: 1, bus: 1 });
    // And it works again: its link reaches for the entropy servers (not started, so it fails there).
    const resumed = () =>
      /"level":"warn".*link kme-east → kme-west: .*trying again in/.test(generator.text.slice(restart));
    for (let waited = 0; !resumed() && waited < 40_000; waited += 250)
      await new Promise((resolve) => setTimeout(resolve, 250));
    expect(resumed()).toBe(true);
  }, 120_000);

  it('turns unready while NATS is stopped, naming the bus, and ready once it is back', async () => {
    await nats.kill();
    const down = await readinessBecomes(503);
    expect(down.body).toMatchObject({ status: 'error', error: { bus: { status: 'down' } } });
    expect((await probe('live')).status).toBe(200);
    expect(await dependencies()).toEqual({ ledger: 1, bus: 0 });

    await nats.restart();
    expect((await readinessBecomes(200)).body).toMatchObject({ info: { bus: { status: 'up' } } });
  }, 120_000);

  it('stops cleanly on SIGTERM after both outages', async () => {
    gateway.signal('SIGTERM');
    expect(await gateway.exit()).toBe(0);
    expect(gateway.text).toContain('stopping on SIGTERM');
  });
});
