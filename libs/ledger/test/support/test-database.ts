import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Client } from 'pg';

import { EmbeddedPostgres, startEmbeddedPostgres } from '../../src/embedded/embedded-postgres';

export type DatabaseMode = 'real Postgres' | 'embedded Postgres';
export const DATABASE_MODES: DatabaseMode[] = ['real Postgres', 'embedded Postgres'];

const DEFAULT_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  /** URL of a database that exists only for this test file. */
  readonly url: string;
  /** URL of the same server's maintenance database, for creating more databases. */
  readonly adminUrl: string;
  dispose(): Promise<void>;
}

/** A private temp folder the postgres user can enter when the tests run as root. */
export function privateDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o755);
  return dir;
}

export async function createDatabase(adminUrl: string): Promise<string> {
  const name = `dqkd_ledger_test_${randomBytes(6).toString('hex')}`;
  await withClient(adminUrl, (client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function dropDatabase(adminUrl: string, url: string): Promise<void> {
  const name = new URL(url).pathname.slice(1);
  await withClient(adminUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
}

/** A fresh database on the shared server, or a fresh embedded cluster in a temp folder. */
export async function startTestDatabase(mode: DatabaseMode): Promise<TestDatabase> {
  if (mode === 'real Postgres') {
    const adminUrl = process.env.DQKD_TEST_DATABASE_URL ?? DEFAULT_ADMIN_URL;
    const url = await createDatabase(adminUrl);
    return { url, adminUrl, dispose: () => dropDatabase(adminUrl, url) };
  }
  const dir = privateDir('dqkd-ledger-pg-');
  let postgres: EmbeddedPostgres;
  try {
    postgres = await startEmbeddedPostgres({ dir, name: 'site' });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const url = await createDatabase(postgres.url);
  return {
    url,
    adminUrl: postgres.url,
    async dispose() {
      await postgres.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function withClient<T>(url: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}
