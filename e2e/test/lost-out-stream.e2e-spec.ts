import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';

import { siteNaming } from '@dqkd/messaging';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Client } from 'pg';

import { AppProcess, WORKSPACE } from './support/app-process';
import { deleting } from '../../libs/messaging/test/support/wait';
import { NATS_URL, TestSite } from './support/test-site';

const run = promisify(execFile);

/** `npm run forget-stream`'s program, as an operator runs it: exit code and output. */
async function forgetStream(
  databaseUrl: string,
  args: readonly string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const cli = path.join(WORKSPACE, 'libs/ledger/dist/cli/forget-stream.js');
  try {
    const { stdout, stderr } = await run(process.execPath, [cli, ...args], {
      env: { PATH: process.env['PATH'], DATABASE_URL: databaseUrl },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

/**
 * kme-east's OUT stream, which the peers copy from the sequence they reached, lost with NATS' store while the
 * site's ledger lives on: no app that publishes to it may make it again when it starts (the peers would skip
 * its first messages) until the operator forgets it in the ledger with `npm run forget-stream`.
 */
describe.each(['api-gateway', 'key-generator', 'replication'])(
  "a site's OUT stream lost with NATS' store, at the start of the %s",
  (app) => {
    let site: TestSite;
    let nc: NatsConnection;
    let jsm: JetStreamManager;
    let out: string;
    let env: Record<string, string>;

    /** The process a test started and has not stopped yet, killed after a failed test. */
    let running: AppProcess | undefined;
    const startApp = async () => {
      running = AppProcess.start(app, env, site.dir);
      await running.waitFor(`${app} of kme-east is running; health on http://127.0.0.1:`, 40_000);
      return running;
    };
    const stop = async (started: AppProcess) => {
      running = undefined;
      started.signal('SIGTERM');
      expect(await started.exit()).toBe(0);
    };
    const streamThere = () =>
      jsm.streams.info(out).then(
        () => true,
        () => false,
      );
    /** A start of the app makes the stream and records it, once. */
    const startMakesIt = async () => {
      const started = await startApp();
      expect(await streamThere()).toBe(true);
      expect(await recorded()).toHaveLength(1);
      await stop(started);
    };
    const recorded = async (): Promise<Date[]> => {
      const client = new Client({ connectionString: site.databaseUrl });
      await client.connect();
      try {
        const { rows } = await client.query<{ recorded_at: Date }>(
          'SELECT recorded_at FROM bus_streams WHERE name = $1',
          [out],
        );
        return rows.map((row) => row.recorded_at);
      } finally {
        await client.end();
      }
    };

    beforeAll(async () => {
      site = await TestSite.create();
      // One KEK for every start, as a deployment keeps it.
      env = { ...site.env('kme-east'), DQKD_API_PORT: '0' };
      out = siteNaming('kme-east', { prefix: site.subjectPrefix }).stream('out');
      nc = await connect({ servers: NATS_URL });
      jsm = await jetstreamManager(nc);
    });

    afterEach(async () => {
      running?.signal('SIGKILL');
      await running?.exit().catch(() => undefined);
      running = undefined;
    });

    afterAll(async () => {
      await nc?.close();
      await site?.remove();
    });

    it('makes the stream of a new site at start-up and records it in the ledger', startMakesIt, 60_000);

    it('leaves the lost stream to the operator at the next start: says so once, stays ready', async () => {
      const [made] = await recorded();
      await deleting(() => jsm.streams.delete(out));

      const started = await startApp();
      expect(await streamThere()).toBe(false);
      expect(await started.readiness()).toMatchObject({ status: 200, body: { status: 'ok' } });
      const told = started.text
        .split('\n')
        .filter((line) => line.includes(`stream ${out} is gone from NATS`));
      expect(told).toHaveLength(1);
      expect(JSON.parse(told[0]!)).toMatchObject({
        level: 'error',
        msg: expect.stringContaining('docs/operations.md, "A stream deleted while running"'),
      });
      await stop(started);
      expect(await recorded()).toEqual([made]);
    }, 60_000);

    it('makes it again at the next start once the operator forgot it with npm run forget-stream', async () => {
      const forgot = await forgetStream(site.databaseUrl, [out]);
      expect(forgot).toMatchObject({ code: 0, stderr: '' });
      expect(forgot.stdout).toMatch(new RegExp(`^forgot ${out} \\(recorded \\d{4}-\\d\\d-\\d\\dT[^)]+Z\\)`));
      expect(await recorded()).toEqual([]);
      expect(await forgetStream(site.databaseUrl, [out])).toMatchObject({
        code: 3,
        stderr: `${out} is not recorded at this site: nothing to forget\n`,
      });

      await startMakesIt();
    }, 60_000);

    it('refuses a forget-stream without exactly one stream name, or without DATABASE_URL, with exit code 2', async () => {
      expect(await forgetStream(site.databaseUrl, [])).toMatchObject({
        code: 2,
        stderr: expect.stringMatching(/^usage: forget-stream/),
      });
      expect(await forgetStream(site.databaseUrl, [out, out])).toMatchObject({ code: 2 });
      expect(await forgetStream(site.databaseUrl, ['a.b'])).toMatchObject({ code: 2 });
      expect(await forgetStream('', [out])).toMatchObject({
        code: 2,
        stderr: expect.stringMatching(/^DATABASE_URL: /),
      });
      expect(await recorded()).toHaveLength(1);
    });
  },
);
