import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

import type { EtsiClient } from '@dqkd/client';
import { EmbeddedProcess, prepareHome, type EmbeddedPorts } from '@dqkd/embedded/dist/observe';
import { ensureDevPki } from '@dqkd/pki';
import { Client } from 'pg';

import { pkiClient, REQUEST_TABLES, settledCounts, type RowCounter } from './two-sites';

/** Limits of the network file that a test may change (config/network.example.yaml holds the defaults). */
export interface EmbeddedLimits {
  readonly sae_requests_per_second?: number;
  readonly sae_request_burst?: number;
  readonly max_request_body_bytes?: number;
}

/**
 * The ledger tables an ETSI request could touch, but the inbox and outbox: here the key-generators keep filling
 * the pools, and each block they send moves both.
 */
const TABLES = REQUEST_TABLES.filter(
  (table) => table !== 'outbox_messages' && table !== 'processed_messages',
);

/**
 * `npm start`'s network (the built launcher) in a temporary DQKD_HOME, seen from a test: its ETSI URLs, typed
 * clients of its SAEs, and the row counts of both sites' embedded Postgres, found as the launcher left them
 * (port in postmaster.pid, password beside the data folder).
 */
export class EmbeddedNetwork {
  readonly pkiDir: string;
  private readonly clients: EtsiClient[] = [];

  private constructor(
    private readonly home: string,
    private readonly ports: EmbeddedPorts,
    private readonly process: EmbeddedProcess,
  ) {
    this.pkiDir = path.join(home, 'pki');
  }

  /** Starts it with `limits` applied and `extraSaes` given certificates of its CA but no place in the network. */
  static async start(limits: EmbeddedLimits, extraSaes: readonly string[] = []): Promise<EmbeddedNetwork> {
    const home = mkdtempSync(path.join(tmpdir(), 'dqkd-embedded-'));
    const ports = await prepareHome(home, { ...limits });
    if (extraSaes.length > 0) {
      await ensureDevPki({
        dir: path.join(home, 'pki'),
        saes: ['sae-alice', 'sae-bob', 'sae-carol', ...extraSaes],
      });
    }
    const process = new EmbeddedProcess(home, ports.health);
    try {
      await process.running();
    } catch (error) {
      await process.stop('SIGKILL');
      rmSync(home, { recursive: true, force: true });
      throw error;
    }
    return new EmbeddedNetwork(home, ports, process);
  }

  baseUrl(kmeId: string): string {
    return `https://127.0.0.1:${kmeId === 'kme-east' ? this.ports.east : this.ports.west}`;
  }

  /** A typed client of `saeId` (certificate from `pkiDir`), closed when the network stops. */
  client(saeId: string, kmeId: string, pkiDir = this.pkiDir): EtsiClient {
    const client = pkiClient(this.baseUrl(kmeId), saeId, pkiDir, this.pkiDir);
    this.clients.push(client);
    return client;
  }

  /** Row counts at both sites, once west holds every key east issued (bounded wait). */
  counts(): Promise<Record<string, number>> {
    return settledCounts(this.rows, TABLES);
  }

  async stop(): Promise<void> {
    this.clients.forEach((client) => client.close());
    for (const database of this.databases.values()) await (await database).end();
    const code = await this.process.stop('SIGTERM');
    rmSync(this.home, { recursive: true, force: true });
    if (code !== 0) throw new Error(`the embedded network exited with ${code}`);
  }

  /** One connection to each site's Postgres, opened on the first count and closed on stop. */
  private readonly databases = new Map<string, Promise<Client>>();

  private readonly rows: RowCounter = async (kmeId, table) => {
    let database = this.databases.get(kmeId);
    if (database === undefined) {
      const client = new Client({ connectionString: this.databaseUrl(kmeId) });
      database = client.connect().then(() => client);
      this.databases.set(kmeId, database);
    }
    return (await (await database).query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]!
      .n;
  };

  private databaseUrl(kmeId: string): string {
    return embeddedDatabaseUrl(this.home, kmeId);
  }
}

/** The URL of the running embedded Postgres of site `kmeId` in DQKD_HOME `home`. */
export function embeddedDatabaseUrl(home: string, kmeId: string): string {
  const dir = path.join(home, 'postgres');
  // postmaster.pid: PID, data folder, start time, port, …
  const port = readFileSync(path.join(dir, kmeId, 'postmaster.pid'), 'utf8')
    .split('\n')[3]!
    .trim();
  const password = readFileSync(path.join(dir, `${kmeId}.password`), 'utf8').trim();
  return `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
}
