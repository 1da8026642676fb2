import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import * as path from 'node:path';

import { openLedger, type Ledger } from '@dqkd/ledger';
import { DEFAULT_PREFIX, inStream } from '@dqkd/messaging';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';

import { EntropyNetwork } from '../../../libs/entropy/test/entropy-network';
import { PrivateNatsServer } from '../../../libs/messaging/test/support/nats-server';
import { AppProcess } from './app-process';
import { createTestDatabase, deleteStreams, dropTestDatabase, NATS_URL } from './test-site';

export const SITES = ['kme-east', 'kme-west'] as const;
export type SiteId = (typeof SITES)[number];
export const BLOCK_BITS = 8192;
/** Four blocks fill a pool; it refills when under two. */
export const LOW_WATERMARK_BITS = 2 * BLOCK_BITS;
export const HIGH_WATERMARK_BITS = 4 * BLOCK_BITS;

export interface FlowNetworkOptions {
  /** SAEs with client certificates, each attached to a site in the network file. */
  readonly saes?: Readonly<Record<string, SiteId>>;
  /** Limits of every link in the network file, beside the small watermarks. */
  readonly limits?: Readonly<Record<string, number>>;
  /**
   * Runs on the shared NATS under a subject prefix of this network's own, its streams deleted by `stop()`,
   * rather than on a private nats-server.
   */
  readonly sharedNats?: boolean;
}

interface Site {
  readonly id: SiteId;
  readonly databaseUrl: string;
  readonly kek: string;
  ledger?: Ledger;
}

/**
 * Two sites on their own Postgres databases and a private nats-server, three entropy-server processes, and
 * the apps of either site started as built processes; everything is removed by `stop()`.
 */
export class FlowNetwork {
  private readonly processes: AppProcess[] = [];
  private readonly started: { app: string; site: string; child: AppProcess }[] = [];
  private readonly scripts: ScriptProcess[] = [];
  private nc: NatsConnection | undefined;

  private constructor(
    readonly entropy: EntropyNetwork,
    /** The private nats-server; undefined on the shared NATS. */
    readonly nats: PrivateNatsServer | undefined,
    readonly subjectPrefix: string,
    private readonly sites: Record<SiteId, Site>,
  ) {}

  /**
   * Starts it all; on a failure, stops what had started before it throws, so no process outlives the test
   * file (Jest would wait for them to the end of the CI run).
   */
  static async start(options: FlowNetworkOptions = {}): Promise<FlowNetwork> {
    // The private nats-server first: its port is bound before the entropy servers' ports are chosen. Started
    // after that choice, it took one of them once (EADDRINUSE for that entropy server).
    const nats = options.sharedNats ? undefined : await PrivateNatsServer.start();
    let entropy: EntropyNetwork | undefined;
    const sites = {} as Record<SiteId, Site>;
    try {
      entropy = await EntropyNetwork.create({
        kmes: [...SITES],
        blockBits: BLOCK_BITS,
        attachedSaes: options.saes,
      });
      const limits = {
        low_watermark_bits: LOW_WATERMARK_BITS,
        high_watermark_bits: HIGH_WATERMARK_BITS,
        ...options.limits,
      };
      appendFileSync(
        entropy.networkFile,
        ['limits:', ...Object.entries(limits).map(([name, value]) => `  ${name}: ${value}`), ''].join('\n'),
      );
      for (const id of SITES) {
        sites[id] = {
          id,
          databaseUrl: await createTestDatabase('dqkd_flow'),
          kek: `1:${randomBytes(32).toString('base64')}`,
        };
      }
    } catch (error) {
      for (const site of Object.values(sites)) await dropTestDatabase(site.databaseUrl);
      await nats?.stop();
      entropy?.remove();
      throw error;
    }
    const prefix = options.sharedNats ? `flow${randomBytes(4).toString('hex')}` : DEFAULT_PREFIX;
    const network = new FlowNetwork(entropy, nats, prefix, sites);
    const servers = await Promise.allSettled(
      ['entropy-1', 'entropy-2', 'entropy-3'].map((id) => network.startEntropyServer(id)),
    );
    const failed = servers.find((server) => server.status === 'rejected');
    if (failed !== undefined) {
      await network.stop();
      throw failed.reason;
    }
    return network;
  }

  get natsUrl(): string {
    return this.nats?.url ?? NATS_URL;
  }

  /** Starts one entropy server of the network file (again, after a kill); resolves once it is running. */
  async startEntropyServer(id: string): Promise<AppProcess> {
    const child = this.track(
      AppProcess.start('entropy-server', this.entropy.serverEnv(id), this.entropy.dir),
      'entropy-server',
      id,
    );
    await child.waitFor('is running');
    return child;
  }

  /** Starts one app of one site; resolves once it is running. */
  async startApp(app: string, site: SiteId, extra: Record<string, string> = {}): Promise<AppProcess> {
    const child = this.track(
      AppProcess.start(app, { ...this.env(site), ...extra }, this.entropy.dir),
      app,
      site,
    );
    await child.waitFor(`${app} of ${site} is running`, 40_000);
    return child;
  }

  /**
   * Starts apps of both sites in one process on the in-process bus (no NATS), each site on its own database;
   * resolves once all of them run.
   */
  async startInProcess(apps: [app: string, site: SiteId][]): Promise<ScriptProcess> {
    const sites = Object.fromEntries(
      SITES.map((site) => [
        site,
        { DATABASE_URL: this.sites[site].databaseUrl, DQKD_KEK: this.sites[site].kek },
      ]),
    );
    const { NATS_URL: _nats, ...env } = this.env('kme-east');
    const child = new ScriptProcess(
      path.join(__dirname, 'flow-in-process.js'),
      { ...env, FLOW_SITES: JSON.stringify(sites), FLOW_APPS: JSON.stringify(apps) },
      this.entropy.dir,
    );
    this.scripts.push(child);
    await child.waitFor('in-process sites are running', 60_000);
    return child;
  }

  /** The last process of this app and site (or entropy server ID) the test started. */
  running(app: string, site: string): AppProcess {
    const found = this.started.filter((entry) => entry.app === app && entry.site === site).pop();
    if (!found) throw new Error(`no ${app} of ${site} was started`);
    return found.child;
  }

  /** What every process the test started, killed ones included, has written so far. */
  get output(): string[] {
    return this.processes.map((child) => child.text);
  }

  env(site: SiteId): Record<string, string> {
    return {
      KME_ID: site,
      DQKD_NETWORK_FILE: this.entropy.networkFile,
      DQKD_HOME: path.join(this.entropy.dir, '.dqkd'),
      DATABASE_URL: this.sites[site].databaseUrl,
      DQKD_KEK: this.sites[site].kek,
      DQKD_MIGRATE: 'true',
      NATS_URL: this.natsUrl,
      DQKD_SUBJECT_PREFIX: this.subjectPrefix,
      DQKD_HEALTH_PORT: '0',
      LOG_LEVEL: 'info',
    };
  }

  /** The site's ledger as the test reads it (migrated on first use). */
  async ledger(site: SiteId): Promise<Ledger> {
    const entry = this.sites[site];
    entry.ledger ??= await openLedger({
      name: site,
      poolSize: 2,
      env: { DATABASE_URL: entry.databaseUrl, DQKD_KEK: entry.kek, DQKD_MIGRATE: 'true' },
    });
    return entry.ledger;
  }

  async jsm(): Promise<JetStreamManager> {
    return jetstreamManager(await this.connection());
  }

  /**
   * Publishes straight into kme-east's OUT stream, as anyone on its NATS could, and resolves once the
   * message reached `site`'s IN stream and its replication settled everything there. With several message
   * IDs, the same data goes under each, all at once; with `headers`, under those.
   */
  async publishAndSettle(
    subject: string,
    data: Uint8Array,
    msgIds: string | readonly string[],
    site: SiteId,
    headers: Readonly<Record<string, string>> = {},
  ): Promise<void> {
    const ids = typeof msgIds === 'string' ? [msgIds] : msgIds;
    const jsm = await this.jsm();
    const stream = this.inStreamOf(site);
    const before = (await jsm.streams.info(stream)).state.last_seq;
    const js = jetstream(await this.connection());
    const withHeaders = headersOf(headers);
    await Promise.all(ids.map((msgID) => js.publish(subject, data, { msgID, headers: withHeaders })));
    await eventually(
      async () => (await jsm.streams.info(stream)).state.last_seq >= before + ids.length,
      10_000,
      `the message(s) to reach ${stream}`,
    );
    await this.drained(site);
  }

  /** Resolves once the site's replication has settled every message its IN stream holds. */
  async drained(site: SiteId, timeoutMs = 20_000): Promise<void> {
    const jsm = await this.jsm();
    const stream = this.inStreamOf(site);
    await eventually(
      async () => {
        const info = await jsm.consumers.info(stream, 'replication');
        const last = (await jsm.streams.info(stream)).state.last_seq;
        return info.num_pending === 0 && info.num_ack_pending === 0 && info.delivered.stream_seq >= last;
      },
      timeoutMs,
      `${site} to settle its IN stream`,
    );
  }

  private inStreamOf(site: SiteId): string {
    return inStream(site, [], { prefix: this.subjectPrefix }).name;
  }

  /** The test's own connection to the network's NATS. */
  async connection(): Promise<NatsConnection> {
    this.nc ??= await connect({ servers: this.natsUrl, maxReconnectAttempts: 0 });
    return this.nc;
  }

  /** Every message a stream holds, oldest first. */
  async streamMessages(stream: string): Promise<{ subject: string; data: Uint8Array; msgId: string }[]> {
    const jsm = await this.jsm();
    const info = await jsm.streams.info(stream).catch(() => undefined);
    if (!info) return [];
    const messages: { subject: string; data: Uint8Array; msgId: string }[] = [];
    for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq += 1) {
      const m = await jsm.streams.getMessage(stream, { seq }).catch(() => undefined);
      if (m) messages.push({ subject: m.subject, data: m.data, msgId: m.header?.get('Nats-Msg-Id') ?? '' });
    }
    return messages;
  }

  private track(child: AppProcess, app: string, site: string): AppProcess {
    this.processes.push(child);
    this.started.push({ app, site, child });
    return child;
  }

  async stop(): Promise<void> {
    for (const script of this.scripts) await script.stop();
    for (const child of this.processes.reverse()) {
      child.signal('SIGTERM');
      await child.exit().catch(() => child.signal('SIGKILL'));
    }
    await this.nc?.close();
    for (const site of Object.values(this.sites)) {
      await site.ledger?.close();
      await dropTestDatabase(site.databaseUrl);
    }
    if (this.nats) await this.nats.stop();
    else await deleteStreams(this.subjectPrefix);
    this.entropy.remove();
  }
}

/** Polls until `check` answers true, failing after timeoutMs so no test hangs. */
export async function eventually(
  check: () => Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

export interface BlockRow {
  id: string;
  state: string;
  role: string;
  burn_reason: string | null;
}

export async function blocksOf(ledger: Ledger): Promise<BlockRow[]> {
  return (await ledger.manager.query(
    'SELECT id, state, role, burn_reason FROM blocks ORDER BY created_at, id',
  )) as BlockRow[];
}

/** A test script run by Node with only the environment given, its output collected. */
export class ScriptProcess {
  private output = '';
  private readonly child: ChildProcess;
  private readonly exited: Promise<void>;

  constructor(script: string, env: Record<string, string>, cwd: string) {
    const base = { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '' };
    this.child = spawn(process.execPath, [script], { cwd, env: { ...base, ...env } });
    this.child.stdout?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    this.child.stderr?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    this.exited = new Promise((resolve) => this.child.on('exit', () => resolve()));
  }

  get text(): string {
    return this.output;
  }

  async waitFor(text: string, timeoutMs: number): Promise<void> {
    await eventually(
      async () => {
        if (this.child.exitCode !== null) throw new Error(`exited before "${text}":\n${this.output}`);
        return this.output.includes(text);
      },
      timeoutMs,
      `"${text}"; output:\n${this.output}`,
    );
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 20_000);
    await this.exited;
    clearTimeout(timer);
  }
}

export const EMPTIED_BY_TEST = 'emptied by the test';

/**
 * Burns every ready block in one statement, so a generator sees the pool go from full to empty at once and
 * refills it to exactly its high watermark (burning one by one would let it start at a half-empty pool).
 */
export async function emptyPool(ledger: Ledger): Promise<void> {
  await ledger.manager.query(
    `UPDATE blocks SET state = 'burned', burned_at = now(), burn_reason = $1,
       material_ciphertext = NULL, material_wrapped_key = NULL, material_kek_id = NULL
     WHERE state = 'ready'`,
    [EMPTIED_BY_TEST],
  );
}

function headersOf(values: Readonly<Record<string, string>>) {
  const headers = natsHeaders();
  for (const [name, value] of Object.entries(values)) headers.set(name, value);
  return headers;
}
