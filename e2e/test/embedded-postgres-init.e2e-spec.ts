import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

import { startEmbeddedPostgres } from '@dqkd/ledger';
import { Client } from 'pg';

/** Whether the server at `url` answers a query. */
async function answers(url: string): Promise<boolean> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<{ one: number }>('SELECT 1 AS one')).rows[0]?.one === 1;
  } finally {
    await client.end();
  }
}

describe('the embedded Postgres of a site', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'dqkd-embedded-init-'));
    chmodSync(dir, 0o755);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** Whether initdb has written a cluster's version file anywhere under `dir` yet. */
  const versionWritten = () =>
    readdirSync(dir).some((entry) => existsSync(path.join(dir, entry, 'PG_VERSION')));

  it('starts afresh after a start killed while initdb created the cluster', async () => {
    const first = spawn(
      process.execPath,
      [
        '-e',
        `require('@dqkd/ledger').startEmbeddedPostgres({ dir: ${JSON.stringify(dir)}, name: 'kme-west' })`,
      ],
      { cwd: __dirname, detached: true, stdio: 'ignore' },
    );
    const exited = new Promise((resolve) => first.once('exit', resolve));
    try {
      // As soon as the version file is there, well before initdb is done: the start and its initdb die.
      const deadline = Date.now() + 60_000;
      while (!versionWritten()) {
        if (Date.now() > deadline) throw new Error('initdb wrote no PG_VERSION within 60 s');
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    } finally {
      process.kill(-first.pid!, 'SIGKILL');
      await exited;
    }
    const postgres = await startEmbeddedPostgres({ dir, name: 'kme-west' });
    try {
      expect(await answers(postgres.url)).toBe(true);
      // Only the cluster and its files are left: no staging folder of the killed start.
      expect(
        readdirSync(dir)
          .filter((entry) => entry.startsWith('kme-west'))
          .sort(),
      ).toEqual(['kme-west', 'kme-west.owner', 'kme-west.password']);
    } finally {
      await postgres.stop();
    }
  }, 120_000);

  // A launcher killed while a site's server came up (npm start starts them one after the other, with apps
  // between): the server runs on, in a process group of its own, before it was known as this data folder's.
  it('takes over from a start killed while its server came up', async () => {
    const initialised = await startEmbeddedPostgres({ dir, name: 'kme-west' });
    await initialised.stop();
    const pidFile = path.join(dir, 'kme-west', 'postmaster.pid');
    const first = spawn(
      process.execPath,
      [
        '-e',
        `require('@dqkd/ledger').startEmbeddedPostgres({ dir: ${JSON.stringify(dir)}, name: 'kme-west', ownProcessGroup: true })`,
      ],
      { cwd: __dirname, stdio: 'ignore' },
    );
    const exited = new Promise((resolve) => first.once('exit', resolve));
    try {
      const deadline = Date.now() + 60_000;
      while (!existsSync(pidFile)) {
        if (Date.now() > deadline) throw new Error('the server wrote no postmaster.pid within 60 s');
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    } finally {
      first.kill('SIGKILL');
      await exited;
    }
    const postgres = await startEmbeddedPostgres({ dir, name: 'kme-west' });
    try {
      expect(await answers(postgres.url)).toBe(true);
    } finally {
      await postgres.stop();
    }
  }, 120_000);
});
