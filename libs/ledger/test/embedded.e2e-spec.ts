import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { preparePostgresBinaries } from '../src/embedded/binaries';
import { AUTOVACUUM_NAPTIME_S, startEmbeddedPostgres } from '../src/embedded/embedded-postgres';
import { EmbeddedPostgresError, LedgerConfigError } from '../src/errors';
import { openLedger } from '../src/open-ledger';
import { createDatabase, dropDatabase, privateDir, withClient } from './support/test-database';
import { readyBlocks } from './support/test-ledger';

const waitForExit = async (pid: number) => {
  for (let i = 0; i < 100; i += 1) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`process ${pid} is still alive`);
};

describe('embedded Postgres', () => {
  let dir: string;
  beforeAll(() => {
    dir = privateDir('dqkd-ledger-embedded-');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prepares the binaries idempotently', () => {
    const first = preparePostgresBinaries();
    expect(preparePostgresBinaries()).toEqual(first);
    expect(statSync(first.postgres).mode & 0o111).toBe(0o111);
    expect(existsSync(join(first.postgres, '..', '..', 'lib', 'libpq.so.5'))).toBe(true);
  });

  it('restarts with its data after the server was killed and left a stale postmaster.pid', async () => {
    const first = await startEmbeddedPostgres({ dir, name: 'kme-east' });
    await withClient(first.url, (client) =>
      client.query(`CREATE TABLE survivor (n int); INSERT INTO survivor VALUES (42)`),
    );
    process.kill(first.pid, 'SIGKILL');
    await waitForExit(first.pid);
    expect(existsSync(join(first.dataDir, 'postmaster.pid'))).toBe(true);

    const second = await startEmbeddedPostgres({ dir, name: 'kme-east' });
    try {
      expect(second.pid).not.toBe(first.pid);
      const rows = await withClient(second.url, (client) => client.query(`SELECT n FROM survivor`));
      expect(rows.rows).toEqual([{ n: 42 }]);
    } finally {
      await second.stop();
      await first.stop();
    }
    expect(existsSync(join(second.dataDir, 'postmaster.pid'))).toBe(false);
  });

  it('keeps the statistics of a table that grew from empty current within seconds', async () => {
    const postgres = await startEmbeddedPostgres({ dir, name: 'kme-stats' });
    try {
      const estimate = await withClient(postgres.url, async (client) => {
        // Analysed while empty, then filled: the planner believes "empty" until autovacuum analyses it again.
        await client.query(`CREATE TABLE growing (n int PRIMARY KEY); ANALYZE growing`);
        await client.query(`INSERT INTO growing SELECT generate_series(1, 5000)`);
        const deadline = Date.now() + 4 * AUTOVACUUM_NAPTIME_S * 1000;
        let tuples = 0;
        while (tuples < 5000 && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 250));
          const { rows } = await client.query(`SELECT reltuples FROM pg_class WHERE relname = 'growing'`);
          tuples = Number(rows[0].reltuples);
        }
        return tuples;
      });
      expect(estimate).toBe(5000);
    } finally {
      await postgres.stop();
    }
  });

  it('starts under a private (0700) DQKD_HOME, as the development PKI leaves it', async () => {
    const home = join(dir, 'private-home');
    mkdirSync(home, { mode: 0o700 });
    chmodSync(home, 0o700);
    const postgres = await startEmbeddedPostgres({ dir: join(home, 'postgres'), name: 'kme-north' });
    try {
      const rows = await withClient(postgres.url, (client) => client.query('SELECT 1 AS one'));
      expect(rows.rows).toEqual([{ one: 1 }]);
    } finally {
      await postgres.stop();
    }
    // Others may pass through to the cluster, never list or read what DQKD_HOME holds.
    expect(statSync(home).mode & 0o007).toBe(process.getuid?.() === 0 ? 0o001 : 0);
  });

  it('refuses a data folder that a live postmaster of a live owner runs', async () => {
    const first = await startEmbeddedPostgres({ dir, name: 'kme-west' });
    try {
      const second = startEmbeddedPostgres({ dir, name: 'kme-west' });
      await expect(second).rejects.toThrow(EmbeddedPostgresError);
      await expect(second).rejects.toThrow(`in use by process ${first.pid}`);
      const rows = await withClient(first.url, (client) => client.query('SELECT 1 AS one'));
      expect(rows.rows).toEqual([{ one: 1 }]);
    } finally {
      await first.stop();
    }
  });

  it('neither signals nor waits for a live process that merely reuses the PID of a stale postmaster.pid', async () => {
    const first = await startEmbeddedPostgres({ dir, name: 'kme-south' });
    await first.stop();
    // After a reboot: the PID in postmaster.pid is some other process now, and the recorded owner is gone.
    const bystander = spawn('sleep', ['60'], { stdio: 'ignore' });
    const gone = spawn('true');
    await new Promise((resolve) => gone.once('exit', resolve));
    writeFileSync(join(first.dataDir, 'postmaster.pid'), `${bystander.pid}\n${first.dataDir}\n`);
    writeFileSync(join(dir, 'kme-south.owner'), `${gone.pid}\n`);
    try {
      const second = await startEmbeddedPostgres({ dir, name: 'kme-south' });
      await second.stop();
      expect(bystander.exitCode).toBeNull();
      expect(bystander.signalCode).toBeNull();
    } finally {
      bystander.kill('SIGKILL');
    }
  });
});

describe('openLedger', () => {
  let home: string;
  beforeAll(() => {
    home = privateDir('dqkd-ledger-home-');
  });
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  it('runs the embedded default with a KEK file it creates once (0600) and reuses', async () => {
    const env = { DQKD_HOME: home };
    const ledger = await openLedger({ name: 'kme-east', env });
    const kekFile = join(home, 'kek');
    const kek = readFileSync(kekFile, 'utf8');
    try {
      expect(statSync(kekFile).mode & 0o777).toBe(0o600);
      expect(kek).toMatch(/^1:[A-Za-z0-9+/]{43}=\n$/);
      const link = await ledger.links.ensure('kme-east', 'kme-west', 256);
      expect(link.blockBits).toBe(256);
    } finally {
      await ledger.close();
    }
    const again = await openLedger({ name: 'kme-east', env });
    try {
      expect(readFileSync(kekFile, 'utf8')).toBe(kek);
      expect(await again.links.find('kme-east', 'kme-west')).toMatchObject({ blockBits: 256 });
    } finally {
      await again.close();
    }
  });

  it('uses a real DATABASE_URL with DQKD_KEK and migrates it when DQKD_MIGRATE=true', async () => {
    const adminUrl = process.env.DQKD_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
    const url = await createDatabase(adminUrl);
    const env = {
      DATABASE_URL: url,
      DQKD_KEK: `3:${randomBytes(32).toString('base64')}`,
      DQKD_MIGRATE: 'true',
    };
    const ledger = await openLedger({ name: 'kme-east', env });
    try {
      const link = await ledger.links.ensure('kme-east', 'kme-west', 512);
      const [block] = await readyBlocks(ledger, link, 1);
      expect(await ledger.blocks.readMaterial(block.id)).toEqual(block.material);
      const [row] = await ledger.dataSource.query(`SELECT material_kek_id FROM blocks WHERE id = $1`, [
        block.id,
      ]);
      expect(row).toEqual({ material_kek_id: 3 });
    } finally {
      await ledger.close();
      await dropDatabase(adminUrl, url);
    }
  });

  it('refuses a real DATABASE_URL without a keyring, naming the variables', async () => {
    const attempt = openLedger({ name: 'kme-east', env: { DATABASE_URL: 'postgres://127.0.0.1:1/none' } });
    await expect(attempt).rejects.toThrow(LedgerConfigError);
    await expect(attempt).rejects.toThrow(/set DQKD_KEK or DQKD_KEK_FILE/);
  });

  it('refuses a DQKD_MIGRATE that is neither true nor false', async () => {
    await expect(
      openLedger({ name: 'kme-east', env: { DQKD_HOME: home, DQKD_MIGRATE: 'yes' } }),
    ).rejects.toThrow(/^environment: DQKD_MIGRATE: must be true or false/);
  });
});
