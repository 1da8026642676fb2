import { writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { AppProcess } from './support/app-process';
import { TestSite } from './support/test-site';

const EX_CONFIG = 78;
// entropy-server is not a KME process: entropy-server-process.e2e-spec.ts starts it with ENTROPY_SERVER_ID.
const apps = ['api-gateway', 'key-generator', 'replication', 'ttl-reaper'];

describe.each(apps)('the %s process', (app) => {
  let site: TestSite;

  beforeAll(async () => {
    site = await TestSite.create();
  });

  afterAll(async () => {
    await site.remove();
  });

  it('starts on the real Postgres and NATS, and stops cleanly on SIGTERM', async () => {
    const process = AppProcess.start(app, site.env('kme-east'), site.dir);
    await process.waitFor(`${app} of kme-east is running; health on http://127.0.0.1:`);
    const url = /health on (http:\/\/\S+\/health\/ready)/.exec(process.text)![1]!;
    const ready = await fetch(url);
    expect({ status: ready.status, body: await ready.json() }).toMatchObject({
      status: 200,
      body: { status: 'ok' },
    });
    process.signal('SIGTERM');
    expect(await process.exit()).toBe(0);
  });

  it('refuses a KME_ID that is not in the network file, naming it, with exit code 78', async () => {
    const process = AppProcess.start(app, { ...site.env('kme-north') }, site.dir);
    expect(await process.exit()).toBe(EX_CONFIG);
    expect(process.text.trim()).toBe(
      'environment: KME_ID: unknown KME "kme-north" (the network file defines kme-east, kme-west)',
    );
  });

  it('refuses a malformed network file, naming the file and the line', async () => {
    const broken = path.join(site.dir, 'config/broken.yaml');
    writeFileSync(broken, 'version: 1\nkmes: [\n');
    const process = AppProcess.start(app, { ...site.env('kme-east'), DQKD_NETWORK_FILE: broken }, site.dir);
    expect(await process.exit()).toBe(EX_CONFIG);
    expect(process.text).toMatch(/^.*broken\.yaml: .*line \d+/);
  });

  it('refuses a DATABASE_URL that is not a Postgres URL before connecting anywhere', async () => {
    const env = { ...site.env('kme-east'), DATABASE_URL: 'mysql://127.0.0.1/dqkd' };
    const process = AppProcess.start(app, env, site.dir);
    expect(await process.exit()).toBe(EX_CONFIG);
    expect(process.text).toMatch(/^environment: DATABASE_URL: /);
  });
});
