import { randomBytes, randomUUID } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

import { EtsiClient } from '@dqkd/client';
import { loadProcessConfig, type ProcessConfig } from '@dqkd/config';
import { applyAssignment, Ledger } from '@dqkd/ledger';
import {
  assignmentSubject,
  BUS,
  openAssignment,
  outStream,
  type Bus,
  type Subscription,
} from '@dqkd/messaging';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { ensureDevPki, loadSealingIdentity } from '@dqkd/pki';
import type { INestApplication, LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';

// The gateway runs in-process here so two sites share one test process; e2e is not a deployable.
import { ApiServer } from '../../../apps/api-gateway/src/app/api-server/api-server';
import { AppModule } from '../../../apps/api-gateway/src/app/app.module';
import type { GatewayOptions } from '../../../apps/api-gateway/src/app/gateway-options';
import { WORKSPACE } from './app-process';
import { openEnvelopes } from './opened-envelopes';
import { pkiClient, settledCounts, westSettled, type RowCounter } from './two-sites';
import { createTestDatabase, dropTestDatabase } from './test-site';

export const BLOCK_BITS = 65536;

/** Gateway options a test may change (see GatewayOptions). */
type GatewayTuning = Pick<GatewayOptions, 'leaseMaxAgeMs' | 'assignmentPollMs' | 'drainMs'>;

/**
 * Every line Nest logs, at every level, with all its parameters, so a test can prove no key material was
 * written. Objects (the apps log structured lines) are kept as JSON, as the JSON logger would write them.
 */
export class CapturedLog implements LoggerService {
  text = '';
  log(...parts: unknown[]): void {
    this.text += `${parts.map(render).join(' ')}\n`;
  }
  error(...parts: unknown[]): void {
    this.log(...parts);
  }
  warn(...parts: unknown[]): void {
    this.log(...parts);
  }
  debug(...parts: unknown[]): void {
    this.log(...parts);
  }
  verbose(...parts: unknown[]): void {
    this.log(...parts);
  }
  fatal(...parts: unknown[]): void {
    this.log(...parts);
  }
}

function render(part: unknown): string {
  if (part instanceof Error) return `${part.name}: ${part.message}\n${part.stack ?? ''}`;
  return typeof part === 'object' && part !== null ? JSON.stringify(part) : String(part);
}

export interface GatewaySite {
  readonly kmeId: string;
  readonly app: INestApplication;
  readonly ledger: Ledger;
  readonly config: ProcessConfig;
  readonly baseUrl: string;
  readonly databaseUrl: string;
}

/**
 * Two sites' api-gateways in this process (kme-east, kme-west), each on a database of its own, sharing a
 * throwaway folder with the example network file and a development PKI. Blocks are seeded at both ends, and
 * assignments are moved from east to west by a consumer here, as replication will.
 */
export class GatewayNetwork {
  readonly log = new CapturedLog();
  /** Every payload published on the assignment subject, to scan for key material. */
  readonly published: Buffer[] = [];
  private readonly sites = new Map<string, GatewaySite>();
  private readonly clients: EtsiClient[] = [];
  private subscription: Subscription | undefined;
  /** While set, the relay holds assignments back, as a slow replication would. */
  private held: Promise<void> | undefined;

  /** The plaintext of every published assignment, in the order of `published` (see openEnvelopes). */
  plaintexts(): Promise<Buffer[]> {
    return openEnvelopes(
      this.published,
      path.join(this.dir, '.dqkd/pki'),
      this.site('kme-east').config.network,
    );
  }

  private constructor(
    readonly dir: string,
    readonly prefix: string,
    private readonly natsUrl: string | undefined,
    private readonly tuning: GatewayTuning,
  ) {}

  static async start(
    options: {
      natsUrl?: string;
      limits?: Record<string, number>;
      /** SAEs besides the example network's, each attached to the KME given. */
      moreSaes?: Record<string, string>;
    } & GatewayTuning = {},
  ): Promise<GatewayNetwork> {
    const dir = mkdtempSync(path.join(tmpdir(), 'dqkd-gateway-'));
    mkdirSync(path.join(dir, 'config'));
    const networkFile = path.join(dir, 'config/network.yaml');
    copyFileSync(path.join(WORKSPACE, 'config/network.example.yaml'), networkFile);
    let text = readFileSync(networkFile, 'utf8');
    for (const [name, value] of Object.entries(options.limits ?? {})) {
      text = text.replace(new RegExp(`^  ${name}: \\d+`, 'm'), `  ${name}: ${value}`);
    }
    const more = Object.entries(options.moreSaes ?? {});
    const entries = more.map(([id, kme]) => `  - id: ${id}\n    certificate_cn: ${id}\n    kme: ${kme}\n`);
    writeFileSync(networkFile, text.replace(/^saes:\n/m, `saes:\n${entries.join('')}`));
    await ensureDevPki({
      dir: path.join(dir, '.dqkd/pki'),
      saes: ['sae-alice', 'sae-bob', 'sae-carol', 'sae-mallory', ...more.map(([id]) => id)],
    });
    const network = new GatewayNetwork(dir, `gw${randomBytes(4).toString('hex')}`, options.natsUrl, {
      leaseMaxAgeMs: options.leaseMaxAgeMs,
      assignmentPollMs: options.assignmentPollMs,
      drainMs: options.drainMs,
    });
    try {
      for (const kmeId of ['kme-east', 'kme-west']) await network.startSite(kmeId);
      await network.relayAssignments();
    } catch (error) {
      await network.stop();
      throw error;
    }
    return network;
  }

  site(kmeId: string): GatewaySite {
    const site = this.sites.get(kmeId);
    if (site === undefined) throw new Error(`no site ${kmeId}`);
    return site;
  }

  /** An ETSI client of `saeId` (its certificate from the PKI) to the KME `kmeId`. */
  client(saeId: string, kmeId: string, pkiDir = path.join(this.dir, '.dqkd/pki')): EtsiClient {
    const client = pkiClient(this.site(kmeId).baseUrl, saeId, pkiDir, path.join(this.dir, '.dqkd/pki'));
    this.clients.push(client);
    return client;
  }

  /** The same ready blocks at both ends of east → west: role source at east, target at west. */
  async seedBlocks(count: number, lifetimeMs = 3_600_000): Promise<void> {
    const east = this.site('kme-east').ledger;
    const west = this.site('kme-west').ledger;
    const [source, target] = await Promise.all([
      east.links.ensure('kme-east', 'kme-west', BLOCK_BITS),
      west.links.ensure('kme-east', 'kme-west', BLOCK_BITS),
    ]);
    for (let i = 0; i < count; i += 1) {
      const block = {
        id: randomUUID(),
        material: randomBytes(BLOCK_BITS / 8),
        bits: BLOCK_BITS,
        state: 'ready' as const,
        metadata: Buffer.from('seeded'),
        expiresAt: new Date(Date.now() + lifetimeMs + i),
      };
      await east.blocks.store({ ...block, linkId: source.id, role: 'source' });
      await west.blocks.store({ ...block, linkId: target.id, role: 'target' });
    }
  }

  /** Holds assignments back from west until the function this answers is called. */
  holdAssignments(): () => void {
    let release = () => undefined as void;
    this.held = new Promise<void>((resolve) => (release = resolve));
    return () => {
      this.held = undefined;
      release();
    };
  }

  /** Row counts of the tables a request could touch, at both sites, once west applied every assignment sent. */
  counts(): Promise<Record<string, number>> {
    return settledCounts(this.rows);
  }

  /** Waits (bounded) until west has applied every assignment east sent (it then holds every key east issued). */
  settled(timeoutMs?: number): Promise<void> {
    return westSettled(this.rows, timeoutMs);
  }

  private readonly rows: RowCounter = async (kmeId, table) =>
    (
      (await this.site(kmeId).ledger.dataSource.query(`SELECT count(*)::int AS n FROM ${table}`)) as {
        n: number;
      }[]
    )[0]!.n;

  async stop(): Promise<void> {
    this.clients.forEach((client) => client.close());
    await this.subscription?.close();
    for (const site of this.sites.values()) {
      // A test may have closed a site already, as SIGTERM would.
      await site.app.close().catch(() => undefined);
      await dropTestDatabase(site.databaseUrl);
    }
    if (this.natsUrl !== undefined) {
      const connection = await connect({ servers: this.natsUrl, maxReconnectAttempts: 0 });
      const manager = await jetstreamManager(connection);
      await manager.streams.delete(outStream('kme-east', { prefix: this.prefix }).name).catch(() => false);
      await manager.streams.delete(outStream('kme-west', { prefix: this.prefix }).name).catch(() => false);
      await connection.close();
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async startSite(kmeId: string): Promise<void> {
    const databaseUrl = await createTestDatabase('dqkd_gw');
    const env: Record<string, string> = {
      KME_ID: kmeId,
      DQKD_NETWORK_FILE: 'config/network.yaml',
      DATABASE_URL: databaseUrl,
      DQKD_KEK: `1:${randomBytes(32).toString('base64')}`,
      DQKD_MIGRATE: 'true',
      DQKD_API_PORT: '0',
      DQKD_HEALTH_PORT: '0',
      ...(this.natsUrl === undefined ? {} : { NATS_URL: this.natsUrl }),
    };
    const config = loadProcessConfig(env, this.dir);
    const app = await NestFactory.create(
      AppModule.register(config, {
        subjectPrefix: this.prefix,
        ledgerEnv: env,
        ...this.tuning,
      }),
      {
        logger: this.log,
      },
    );
    try {
      await app.init();
    } catch (error) {
      await dropTestDatabase(databaseUrl);
      throw error;
    }
    const port = app.get(ApiServer).port;
    this.sites.set(kmeId, {
      kmeId,
      app,
      ledger: app.get(Ledger),
      config,
      baseUrl: `https://127.0.0.1:${port}`,
      databaseUrl,
    });
  }

  /** What replication at west does with an assignment: open it and apply it once. */
  private async relayAssignments(): Promise<void> {
    const west = this.site('kme-west');
    const bus = west.app.get<Bus>(BUS);
    const identity = await loadSealingIdentity(path.join(this.dir, '.dqkd/pki/kme-west.sealing.json'));
    const network = west.config.network;
    this.subscription = await bus.consume(
      {
        stream: outStream('kme-east', { prefix: this.prefix }).name,
        durable: `test-${this.prefix}`,
        filterSubject: assignmentSubject('kme-east', 'kme-west', { prefix: this.prefix }),
        ackWaitMs: 30_000,
        maxDeliver: 100,
      },
      async (message) => {
        this.published.push(Buffer.from(message.data));
        await this.held;
        const { assignment } = openAssignment(message.data, {
          self: 'kme-west',
          recipientKemSecret: identity.kemSecretKey,
          senderSigPublicKeys: (id) => network.kme(id)?.sealing.sigPublicKey,
          now: Date.now(),
        });
        await applyAssignment(west.ledger, assignment, {
          messageId: message.msgId,
          subject: message.subject,
        });
        await message.ack();
      },
      { maxInFlight: 16 },
    );
  }
}
