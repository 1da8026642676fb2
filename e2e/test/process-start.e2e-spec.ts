import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

import { freePort } from '@dqkd/embedded/dist/observe';

import { AppProcess } from './support/app-process';
import { createTestDatabase, dropTestDatabase, TestSite } from './support/test-site';

const EX_CONFIG = 78;
// entropy-server is not a KME process: entropy-server-process.e2e-spec.ts starts it with ENTROPY_SERVER_ID.
const apps = ['api-gateway', 'key-generator', 'replication', 'ttl-reaper'];

/** The process failed to start with one log line, `message`, and no stack trace. */
async function failsWithOneLine(process: AppProcess, message: string): Promise<void> {
  expect(await process.exit()).not.toBe(0);
  const errors = process.text.split('\n').filter((line) => line.includes('"level":"error"'));
  expect(errors).toEqual([expect.stringContaining(`"msg":"${message}`)]);
  expect(process.text).not.toContain('"stack"');
}

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
    expect(await process.readiness()).toMatchObject({ status: 200, body: { status: 'ok' } });
    process.signal('SIGTERM');
    expect(await process.exit()).toBe(0);
    // Said with the app and its KME, like every other line, and said to the end.
    const owned = `"app":"${app}","kme":"kme-east"`;
    expect(process.text).toMatch(new RegExp(`\\{[^\\n]*${owned}[^\\n]*"msg":"stopping on SIGTERM"`));
    expect(process.text).toMatch(new RegExp(`\\{[^\\n]*${owned}[^\\n]*"msg":"stopped"\\}\\s*$`));
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

  it('refuses NATS_URL credentials it could not log in with, before connecting anywhere', async () => {
    const env = { ...site.env('kme-east'), NATS_URL: 'nats://dqkd:100%@127.0.0.1:4222' };
    const process = AppProcess.start(app, env, site.dir);
    expect(await process.exit()).toBe(EX_CONFIG);
    expect(process.text.trim()).toBe(
      'environment: NATS_URL: has credentials that are not percent-encoded correctly',
    );
  });

  it('names DATABASE_URL, without its password, in one line when that database cannot be reached', async () => {
    const env = {
      ...site.env('kme-east'),
      DATABASE_URL: `postgres://dqkd:hunter2@127.0.0.1:${await freePort()}/x`,
    };
    const process = AppProcess.start(app, env, site.dir);
    await failsWithOneLine(process, 'DATABASE_URL: cannot use postgres://dqkd:***@127.0.0.1:');
    expect(process.text).not.toContain('hunter2');
    // A service out of reach may come back: not a configuration to fix, so not 78.
    expect(await process.exit()).toBe(1);
  });

  it('refuses, in one line naming DQKD_MIGRATE, a ledger that lacks migrations of its version, with exit code 78', async () => {
    const unmigrated = await createTestDatabase('dqkd_e2e');
    try {
      const env = { ...site.env('kme-east'), DATABASE_URL: unmigrated, DQKD_MIGRATE: 'false' };
      const refused = AppProcess.start(app, env, site.dir);
      await failsWithOneLine(
        refused,
        'environment: DQKD_MIGRATE: is not true, and the ledger at postgres://',
      );
      expect(refused.text).toMatch(/lacks \d+ of this version's migrations \(the newest: [A-Za-z]+\d{13}\)/);
      expect(await refused.exit()).toBe(EX_CONFIG);
    } finally {
      await dropTestDatabase(unmigrated);
    }
  });

  it.each(['DQKD_KEK', 'DQKD_KEK_FILE'])(
    'refuses a keyring left a placeholder, in one line naming %s (and the file), with exit code 78',
    async (variable) => {
      const file = path.join(site.dir, 'kek-placeholder');
      writeFileSync(file, 'REPLACE-ME: the keyring');
      const { DQKD_KEK: _set, ...env } = site.env('kme-east');
      const placeholder: Record<string, string> =
        variable === 'DQKD_KEK' ? { DQKD_KEK: 'REPLACE-ME: the keyring' } : { DQKD_KEK_FILE: file };
      const refused = AppProcess.start(app, { ...env, ...placeholder }, site.dir);
      const named = variable === 'DQKD_KEK' ? variable : `${variable} (${file})`;
      await failsWithOneLine(
        refused,
        `environment: ${named}: entry 1 must start with a positive integer version`,
      );
      expect(await refused.exit()).toBe(EX_CONFIG);
    },
  );

  if (app !== 'ttl-reaper') {
    it('names, in one line, a file of its PKI that it cannot read', async () => {
      const home = mkdtempSync(path.join(tmpdir(), 'dqkd-empty-home-'));
      try {
        const process = AppProcess.start(app, { ...site.env('kme-east'), DQKD_HOME: home }, site.dir);
        await failsWithOneLine(process, `cannot open ${home}/pki/`);
        expect(process.text).toContain('(ENOENT): check DQKD_HOME and the *_FILE variable that names it');
      } finally {
        rmSync(home, { recursive: true, force: true });
      }
    });

    it('refuses a certificate left a placeholder, in one line naming DQKD_TLS_CERT_FILE, with exit code 78', async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'dqkd-placeholder-pem-'));
      try {
        const cert = path.join(dir, 'tls.crt');
        writeFileSync(cert, 'REPLACE-ME: PEM certificate of the KME');
        const key = path.join(site.dir, '.dqkd/pki/kme-east.key');
        const env = { ...site.env('kme-east'), DQKD_TLS_CERT_FILE: cert, DQKD_TLS_KEY_FILE: key };
        const refused = AppProcess.start(app, env, site.dir);
        await failsWithOneLine(
          refused,
          `environment: DQKD_TLS_CERT_FILE: ${cert} holds no PEM certificate (`,
        );
        expect(await refused.exit()).toBe(EX_CONFIG);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    if (app === 'api-gateway') {
      it('refuses a sealing identity left a placeholder, naming DQKD_SEALING_IDENTITY_FILE, with exit code 78', async () => {
        const file = path.join(site.dir, 'sealing-placeholder.json');
        writeFileSync(file, 'REPLACE-ME: content of kme-east.sealing.json');
        const env = { ...site.env('kme-east'), DQKD_SEALING_IDENTITY_FILE: file };
        const refused = AppProcess.start(app, env, site.dir);
        await failsWithOneLine(refused, `environment: DQKD_SEALING_IDENTITY_FILE: ${file}`);
        expect(await refused.exit()).toBe(EX_CONFIG);
      });
    }

    it.each([
      ['NATS_TLS_CA_FILE', 'holds no PEM CA certificate ('],
      ['NATS_CREDS_FILE', 'holds no NATS user credentials (unable to parse credentials)'],
    ])(
      'refuses a %s left a placeholder, naming it in one line, with exit code 78',
      async (variable, text) => {
        const file = path.join(site.dir, 'nats-placeholder');
        writeFileSync(file, 'REPLACE-ME: from the secret');
        const refused = AppProcess.start(app, { ...site.env('kme-east'), [variable]: file }, site.dir);
        await failsWithOneLine(refused, `environment: ${variable}: ${file} ${text}`);
        expect(await refused.exit()).toBe(EX_CONFIG);
      },
    );

    it('names NATS_URL in one line when that server cannot be reached', async () => {
      const env = { ...site.env('kme-east'), NATS_URL: `nats://127.0.0.1:${await freePort()}` };
      await failsWithOneLine(AppProcess.start(app, env, site.dir), 'NATS_URL: cannot use 127.0.0.1:');
    });
  }
});
