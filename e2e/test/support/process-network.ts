import { readFileSync } from 'node:fs';
import * as path from 'node:path';

import { EtsiClient } from '@dqkd/client';
import type { Key } from '@dqkd/etsi014';
import type { Ledger } from '@dqkd/ledger';
import type { Subscription } from '@nats-io/transport-node';

import type { AppProcess } from './app-process';
import { eventually, FlowNetwork, SITES, type SiteId } from './flow-network';
import { openEnvelopes } from './opened-envelopes';

export const KME_APPS = ['api-gateway', 'key-generator', 'replication', 'ttl-reaper'] as const;
export type KmeApp = (typeof KME_APPS)[number];

const SAES: Record<string, SiteId> = {
  'sae-alice': 'kme-east',
  'sae-bob': 'kme-west',
  'sae-carol': 'kme-west',
};

/** Per-app settings that make pools refill, killed work come again and keys expire within seconds. */
const SETTINGS: Record<KmeApp, Record<string, string>> = {
  // Port 0 on the first start; a restart takes the port the system chose then, so clients keep their URL.
  'api-gateway': { DQKD_API_PORT: '0' },
  'key-generator': { DQKD_GENERATOR_INTERVAL_MS: '100' },
  // What a killed replica held comes again after this, rather than after the default 30 s.
  replication: { DQKD_REPLICATION_ACK_WAIT_MS: '3000' },
  'ttl-reaper': { DQKD_REAPER_INTERVAL_MS: '500' },
};

// A load loop of a few workers must meet no rate limit: the tests are about keys, not throttling.
const LIMITS = { sae_requests_per_second: 100_000, sae_request_burst: 100_000 };

/**
 * The whole two-site network as separate processes: three entropy servers and, for kme-east and kme-west
 * each, api-gateway, key-generator, replication and ttl-reaper on a database of the site's own and the shared
 * NATS under a prefix of this network's own. Every NATS message under that prefix is captured from the start.
 */
export class ProcessNetwork {
  /** Every payload published under the network's subject prefix. */
  readonly published: { subject: string; data: Buffer }[] = [];
  private readonly apiPorts = new Map<SiteId, number>();
  private readonly clients = new Map<string, EtsiClient>();
  private subscription: Subscription | undefined;

  private constructor(private readonly flow: FlowNetwork) {}

  static async start(): Promise<ProcessNetwork> {
    const network = new ProcessNetwork(
      await FlowNetwork.start({ saes: SAES, limits: LIMITS, sharedNats: true }),
    );
    try {
      await network.capture();
      await Promise.all(SITES.flatMap((site) => KME_APPS.map((app) => network.startApp(app, site))));
      await eventually(
        async () =>
          (await network.client('sae-alice').status('sae-bob')).stored_key_count > 0 &&
          (await network.client('sae-bob').status('sae-alice')).stored_key_count > 0,
        90_000,
        'ready keys in both directions',
      );
    } catch (error) {
      await network.stop();
      throw error;
    }
    return network;
  }

  async startApp(app: KmeApp, site: SiteId): Promise<AppProcess> {
    const port = this.apiPorts.get(site);
    const settings = { ...SETTINGS[app] };
    if (app === 'api-gateway' && port !== undefined) settings['DQKD_API_PORT'] = String(port);
    const child = await this.flow.startApp(app, site, settings);
    if (app === 'api-gateway' && port === undefined) {
      const listening = /ETSI GS QKD 014 API on https:\/\/[^:]+:(\d+)\//.exec(child.text);
      if (!listening) throw new Error(`api-gateway of ${site} printed no API port:\n${child.text}`);
      this.apiPorts.set(site, Number(listening[1]));
    }
    return child;
  }

  /** SIGKILLs the running app of a site (or the entropy server of that ID) and starts it again. */
  async killAndRestart(app: KmeApp | 'entropy-server', owner: string): Promise<void> {
    const running = this.flow.running(app, owner);
    running.signal('SIGKILL');
    await running.exit();
    if (app === 'entropy-server') await this.flow.startEntropyServer(owner);
    else await this.startApp(app, owner as SiteId);
  }

  /** A kept-alive ETSI client of the SAE (its development-PKI certificate) to the KME it is attached to. */
  client(saeId: string): EtsiClient {
    const existing = this.clients.get(saeId);
    if (existing) return existing;
    const port = this.apiPorts.get(SAES[saeId]);
    if (port === undefined) throw new Error(`no api-gateway for ${saeId}`);
    const read = (file: string) => readFileSync(path.join(this.flow.entropy.pkiDir, file));
    const client = new EtsiClient({
      baseUrl: `https://127.0.0.1:${port}`,
      cert: read(`${saeId}.pem`),
      key: read(`${saeId}.key`),
      ca: read('ca.pem'),
    });
    this.clients.set(saeId, client);
    return client;
  }

  /** The site's ledger, for read-only queries. */
  ledger(site: SiteId): Promise<Ledger> {
    return this.flow.ledger(site);
  }

  /** The latest `count` warning and error lines of all processes, for a test that timed out to show. */
  recentProblems(count: number): string[] {
    const lines = this.flow.output.flatMap((text) => text.split('\n'));
    const problems = lines.filter((line) => /"level":"(warn|error|fatal)"/.test(line));
    // Each process's lines come together: by their ISO time, which sorts as text, the latest of all come last.
    const time = (line: string) => /"time":"([^"]+)"/.exec(line)?.[1] ?? '';
    return problems.sort((a, b) => time(a).localeCompare(time(b))).slice(-count);
  }

  /** The plaintext of every captured NATS message, in the order of `published` (see openEnvelopes). */
  plaintexts(): Promise<Buffer[]> {
    const { pkiDir, network } = this.flow.entropy;
    return openEnvelopes(
      this.published.map(({ data }) => data),
      pkiDir,
      network,
    );
  }

  /**
   * Where a key's material shows up, as raw bytes, Base64, Base64url or hex, in any process's output or any
   * captured NATS message, sealed or opened: one line per finding, empty when it shows up nowhere.
   */
  async leaks(keys: readonly Key[]): Promise<string[]> {
    const opened = await this.plaintexts();
    const texts = [
      ...this.flow.output.map((text, i) => ({ where: `output of process ${i}`, text, data: undefined })),
      ...this.published.map(({ subject, data }) => ({ where: subject, text: data.toString('latin1'), data })),
      ...opened.map((data, i) => ({
        where: `the opened ${this.published[i]!.subject}`,
        text: data.toString('latin1'),
        data,
      })),
    ];
    const found: string[] = [];
    for (const key of keys) {
      const material = Buffer.from(key.key, 'base64');
      // Unpadded, so that Base64 with or without padding is found.
      const forms = [
        material.toString('base64').replace(/=+$/, ''),
        material.toString('base64url'),
        material.toString('hex'),
        material.toString('hex').toUpperCase(),
      ];
      for (const { where, text, data } of texts) {
        if (data?.includes(material) || forms.some((form) => text.includes(form))) {
          found.push(`key ${key.key_ID} in ${where}`);
        }
      }
    }
    return found;
  }

  async stop(): Promise<void> {
    this.clients.forEach((client) => client.close());
    this.subscription?.unsubscribe();
    await this.flow.stop();
  }

  private async capture(): Promise<void> {
    const nc = await this.flow.connection();
    this.subscription = nc.subscribe(`${this.flow.subjectPrefix}.>`, {
      callback: (error, message) => {
        if (!error) this.published.push({ subject: message.subject, data: Buffer.from(message.data) });
      },
    });
    // The server must know the subscription before any app publishes.
    await nc.flush();
  }
}
