import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

import { ensureDevPki } from '@dqkd/pki';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { Client } from 'pg';

import { deleting } from '../../../libs/messaging/test/support/wait';
import { WORKSPACE } from './app-process';

export const DATABASE_URL =
  process.env['DQKD_TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const NATS_URL = process.env['DQKD_TEST_NATS_URL'] ?? 'nats://127.0.0.1:4222';

/**
 * A throwaway working folder laid out like the repository for one site: the example network file
 * in `config/`, the development PKI it points at in `.dqkd/pki/`, and a database of its own.
 */
export class TestSite {
  readonly databaseUrl: string;
  /** This run's own subjects and streams on the shared NATS. */
  readonly subjectPrefix = `t${randomBytes(5).toString('hex')}`;

  private constructor(
    readonly dir: string,
    databaseUrl: string,
  ) {
    this.databaseUrl = databaseUrl;
  }

  static async create(): Promise<TestSite> {
    const dir = mkdtempSync(path.join(tmpdir(), 'dqkd-e2e-'));
    mkdirSync(path.join(dir, 'config'));
    copyFileSync(path.join(WORKSPACE, 'config/network.example.yaml'), path.join(dir, 'config/network.yaml'));
    await ensureDevPki({ dir: path.join(dir, '.dqkd/pki') });
    return new TestSite(dir, await createTestDatabase('dqkd_e2e'));
  }

  /** The environment of one process of this site on the real Postgres and NATS. */
  env(kmeId: string): Record<string, string> {
    return {
      KME_ID: kmeId,
      DQKD_NETWORK_FILE: 'config/network.yaml',
      DATABASE_URL: this.databaseUrl,
      DQKD_KEK: `1:${randomBytes(32).toString('base64')}`,
      DQKD_MIGRATE: 'true',
      NATS_URL,
      DQKD_SUBJECT_PREFIX: this.subjectPrefix,
      DQKD_HEALTH_PORT: '0',
    };
  }

  async remove(): Promise<void> {
    await dropTestDatabase(this.databaseUrl);
    await deleteStreams(this.subjectPrefix);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Deletes every stream of one run's subject prefix from the shared NATS. */
export async function deleteStreams(subjectPrefix: string): Promise<void> {
  const nc = await connect({ servers: NATS_URL, maxReconnectAttempts: 0 });
  const jsm = await jetstreamManager(nc);
  for await (const name of jsm.streams.names()) {
    if (name.startsWith(`${subjectPrefix.toUpperCase()}_`)) await deleting(() => jsm.streams.delete(name));
  }
  await nc.close();
}

/** A new empty database on the test Postgres, named `<prefix>_<random>`; answers its URL. */
export async function createTestDatabase(prefix: string): Promise<string> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  await admin((client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(DATABASE_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function dropTestDatabase(url: string): Promise<void> {
  const name = new URL(url).pathname.slice(1);
  await admin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
}

async function admin(work: (client: Client) => Promise<unknown>): Promise<void> {
  const client = new Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    await work(client);
  } finally {
    await client.end();
  }
}
