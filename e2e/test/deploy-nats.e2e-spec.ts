import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

import { JetStreamBus, protocolSubject, siteTopology, type Bus, type Topology } from '@dqkd/messaging';
import { ensureDevPki } from '@dqkd/pki';
import { replicationSettings } from '@dqkd/replication/dist/app/replication-settings';
import { jetstreamManager, type JetStreamManager, type StreamConfig } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { parse, parseAllDocuments } from 'yaml';

import { AppProcess, WORKSPACE } from './support/app-process';
import { TestSite } from './support/test-site';

// The committed NATS configurations, run for real: a private east/west pair of nats-servers on free
// loopback ports, with the development PKI in place of the mounted certificates.
const hasNatsServer = spawnSync('nats-server', ['--version']).status === 0;
const hasKubectl = spawnSync('kubectl', ['version', '--client']).status === 0;
if (!hasNatsServer) console.warn('nats-server is not installed: skipping the inter-site NATS link checks');
if (!hasKubectl) console.warn('kubectl is not installed: skipping the Kubernetes NATS link checks');
const withNats = hasNatsServer ? it : it.skip;
const withNatsAndKubectl = hasNatsServer && hasKubectl ? it : it.skip;

const LEAF_USER = 'dqkd-leaf';
const LEAF_PASSWORD = 'test-leaf-password';

type Site = 'east' | 'west';
const KME: Readonly<Record<Site, string>> = { east: 'kme-east', west: 'kme-west' };
const peerOf = (site: Site): Site => (site === 'east' ? 'west' : 'east');

interface Ports {
  readonly client: number;
  readonly monitor: number;
  readonly leaf: number;
}

interface Server {
  readonly process: ChildProcess;
  readonly ports: Ports;
  /** How a process of the site logs in to it, if it must. */
  readonly auth?: { user: string; pass: string };
  log: string;
}

type Servers = Readonly<Record<Site, Server>>;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function freePorts(): Promise<Ports> {
  return { client: await freePort(), monitor: await freePort(), leaf: await freePort() };
}

/** Moves a container configuration onto this machine: loopback ports and the given folders. */
function localise(config: string, ports: Ports, paths: Readonly<Record<string, string>>): string {
  let text = config
    .replace('0.0.0.0:4222', `127.0.0.1:${ports.client}`)
    .replace('0.0.0.0:8222', `127.0.0.1:${ports.monitor}`)
    .replace('0.0.0.0:7422', `127.0.0.1:${ports.leaf}`);
  for (const [from, to] of Object.entries(paths)) text = text.split(from).join(to);
  return text;
}

function leafUrl(password: string, port: number): string {
  // localhost is among the names on the development PKI's KME certificates.
  return `tls://${LEAF_USER}:${password}@localhost:${port}`;
}

async function monitor<T>(server: Server, endpoint: string): Promise<T> {
  const response = await fetch(`http://127.0.0.1:${server.ports.monitor}/${endpoint}`);
  return (await response.json()) as T;
}

async function eventually(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return true;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return false;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function leafCount(server: Server): Promise<number> {
  return (await monitor<{ leafnodes: number }>(server, 'leafz')).leafnodes;
}

async function clientOf(server: Server): Promise<NatsConnection> {
  return connect({ servers: `nats://127.0.0.1:${server.ports.client}`, ...server.auth });
}

type SiteEnv = Readonly<Record<string, string>>;

/** Each KME's JetStream domain in a committed network file. */
function natsDomains(networkFile: string): Record<string, string> {
  const network = parse(readFileSync(path.join(WORKSPACE, networkFile), 'utf8')) as {
    kmes: { id: string; nats_domain: string }[];
  };
  return Object.fromEntries(network.kmes.map((kme) => [kme.id, kme.nats_domain]));
}

/** How a deployment runs a site's NATS server, and its replication beside it. */
interface Deployment {
  /** Writes the committed configuration of the site into `folder`; returns the file to start. */
  writeConfig(site: Site, folder: string, ports: Ports): string;
  /** The server's environment, as the deployment gives it (compose environment, Secret, ConfigMap). */
  serverEnv(site: Site, hubLeafPort: number): Record<string, string>;
  /** How the site's processes log in to it. */
  auth(site: Site): { user: string; pass: string };
  replicationEnv(site: Site): SiteEnv;
  readonly networkFile: string;
}

/** The site's side of the link as a compromised site would have it: no limits at all. */
function unlimitedConfig(site: Site, folder: string, ports: Ports, pki: string): string {
  const tls = (verify: boolean) =>
    `tls { cert_file: "${pki}/${KME[site]}.pem", key_file: "${pki}/${KME[site]}.key", ca_file: "${pki}/ca.pem"${
      verify ? ', verify: true' : ''
    } }`;
  const leafnodes =
    site === 'east'
      ? `leafnodes { listen: "127.0.0.1:${ports.leaf}", ${tls(true)}, authorization { user: $LEAF_USER, password: $LEAF_PASSWORD } }`
      : `leafnodes { remotes: [ { url: $LEAF_URL, ${tls(false)} } ] }`;
  const file = path.join(folder, 'unlimited.conf');
  writeFileSync(
    file,
    [
      `server_name: nats-${site}`,
      `listen: "127.0.0.1:${ports.client}"`,
      `http: "127.0.0.1:${ports.monitor}"`,
      `jetstream { store_dir: "${path.join(folder, 'data')}", domain: ${site} }`,
      leafnodes,
    ].join('\n'),
  );
  return file;
}

/** A site's streams and the durable consumer of its IN stream, as replication provisions them. */
interface SiteStreams {
  readonly out: string;
  readonly in: string;
  readonly consumer: string;
  /** Subject of a message from this site to its peer. */
  readonly toPeer: string;
}

function siteStreams(site: Site): SiteStreams {
  const topology = siteTopology(KME[site], [KME[peerOf(site)]]);
  return {
    out: topology.streams[0]!.name,
    in: topology.streams[1]!.name,
    consumer: topology.consumers![0]!.durable,
    toPeer: protocolSubject(KME[site], KME[peerOf(site)], 'metadata'),
  };
}

/**
 * Connects each site's buses, provisioning what its replication would with the deployment's environment
 * and network file: its OUT stream, its IN stream sourcing the peer's OUT stream and the consumer of the
 * latter. Default subject prefix and stream names, as the deployments run (no DQKD_SUBJECT_PREFIX).
 */
async function connectSites(
  servers: Servers,
  deployment: Deployment,
): Promise<{ buses: Record<Site, Bus>; topologies: Record<Site, Topology>; close(): Promise<void> }> {
  const domains = natsDomains(deployment.networkFile);
  const topologyOf = (site: Site) =>
    siteTopology(KME[site], [KME[peerOf(site)]], {
      peerDomain: replicationSettings(deployment.replicationEnv(site)).peerDomains
        ? (kme) => domains[kme]
        : undefined,
    });
  const topologies = { east: topologyOf('east'), west: topologyOf('west') };
  const opened: Bus[] = [];
  const close = () => Promise.all(opened.map((bus) => bus.close({ graceMs: 100 }))).then(() => undefined);
  try {
    for (const site of ['east', 'west'] as const) {
      const server = servers[site];
      // Credentials in the URL, as the deployments give NATS_URL.
      const url = new URL(`nats://127.0.0.1:${server.ports.client}`);
      url.username = encodeURIComponent(server.auth?.user ?? '');
      url.password = encodeURIComponent(server.auth?.pass ?? '');
      opened.push(await JetStreamBus.connect({ servers: url.toString() }, topologies[site]));
    }
  } catch (error) {
    await close();
    throw error;
  }
  return { buses: { east: opened[0]!, west: opened[1]! }, topologies, close };
}

/**
 * Whether a message each site's apps publish for the other reaches the other's IN stream, each site
 * provisioning what its replication would with the deployment's environment and network file.
 */
async function carriesAcross(servers: Servers, deployment: Deployment): Promise<Record<Site, boolean>> {
  const sites = await connectSites(servers, deployment);
  try {
    const seen: Record<Site, string[]> = { east: [], west: [] };
    for (const site of ['east', 'west'] as const) {
      await sites.buses[site].consume(sites.topologies[site].consumers![0]!, async (message) => {
        seen[site].push(message.subject);
        await message.ack();
      });
    }
    for (const site of ['east', 'west'] as const) {
      const subject = siteStreams(site).toPeer;
      await sites.buses[site].publish(subject, new TextEncoder().encode('sealed metadata'), {
        msgId: `metadata:${site}`,
      });
    }
    const arrives = (site: Site) =>
      eventually(async () => seen[peerOf(site)].includes(siteStreams(site).toPeer), 20_000);
    const [east, west] = await Promise.all([arrives('east'), arrives('west')]);
    return { east, west };
  } finally {
    await sites.close();
  }
}

/** What of a site's streams a peer must not be able to change: their messages, subjects and consumer. */
async function holdings(jsm: JetStreamManager, site: Site): Promise<Record<string, unknown>> {
  const names = siteStreams(site);
  const stream = (name: string) =>
    jsm.streams.info(name).then(
      (info) => ({ messages: info.state.messages, subjects: info.config.subjects ?? [] }),
      () => 'missing',
    );
  return {
    [names.out]: await stream(names.out),
    [names.in]: await stream(names.in),
    [`${names.in}/${names.consumer}`]: await jsm.consumers.info(names.in, names.consumer).then(
      () => 'present',
      () => 'missing',
    ),
  };
}

async function messagesIn(jsm: JetStreamManager, stream: string): Promise<number> {
  return (await jsm.streams.info(stream)).state.messages;
}

/**
 * What a client at the other site tries against `target` through the link: give its IN stream subjects
 * of its own and publish on them, publish on its OUT stream's subjects, delete the consumer of its IN
 * stream, purge and delete both streams. Answers (if any) do not matter, only what the target keeps.
 */
async function attack(client: NatsConnection, target: Site, domain: string, inConfig: StreamConfig) {
  const names = siteStreams(target);
  const api = `$JS.${domain}.API`;
  const forged = `forged.${target}.in`;
  const encode = (value: unknown) =>
    new TextEncoder().encode(value === undefined ? '' : JSON.stringify(value));
  const request = (subject: string, body?: unknown) =>
    client.request(subject, encode(body), { timeout: 1_000 }).catch(() => undefined);
  await request(`${api}.STREAM.UPDATE.${names.in}`, { ...inConfig, subjects: [`${forged}.>`] });
  client.publish(`${forged}.metadata`, encode('forged'));
  client.publish(names.toPeer, encode('forged'));
  await client.flush();
  await sleep(500);
  await request(`${api}.CONSUMER.DELETE.${names.in}.${names.consumer}`);
  await request(`${api}.STREAM.PURGE.${names.out}`);
  await request(`${api}.STREAM.PURGE.${names.in}`);
  await request(`${api}.STREAM.DELETE.${names.out}`);
  await request(`${api}.STREAM.DELETE.${names.in}`);
}

describe('the inter-site NATS link', () => {
  let dir: string;
  let pki: string;
  const servers: Server[] = [];

  async function start(file: string, ports: Ports, env: Record<string, string>, auth?: Server['auth']) {
    const child = spawn('nats-server', ['-c', file], {
      env: { PATH: process.env['PATH'] ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const server: Server = { process: child, ports, auth, log: '' };
    child.stderr?.on('data', (chunk: Buffer) => (server.log += chunk.toString()));
    child.stdout?.on('data', (chunk: Buffer) => (server.log += chunk.toString()));
    servers.push(server);
    const up = await eventually(async () => (await fetch(`http://127.0.0.1:${ports.monitor}/healthz`)).ok);
    if (!up) throw new Error(`nats-server did not start:\n${server.log}`);
    return server;
  }

  /**
   * East and west as the deployment runs them, each in a folder of its own; `unlimited` replaces a site's
   * committed configuration by one without limits on the link, as a compromised site could run.
   */
  async function startSites(
    deployment: Deployment,
    options: { westPassword?: string; unlimited?: Site } = {},
  ): Promise<Servers> {
    const hubPorts = await freePorts();
    const site = async (name: Site, ports: Ports) => {
      const folder = mkdtempSync(path.join(dir, `${name}-`));
      const unlimited = options.unlimited === name;
      const file = unlimited
        ? unlimitedConfig(name, folder, ports, pki)
        : deployment.writeConfig(name, folder, ports);
      const env = deployment.serverEnv(name, hubPorts.leaf);
      if (options.westPassword) env['LEAF_URL'] = leafUrl(options.westPassword, hubPorts.leaf);
      return start(file, ports, env, unlimited ? undefined : deployment.auth(name));
    };
    const east = await site('east', hubPorts);
    const west = await site('west', await freePorts());
    return { east, west };
  }

  /** Starts both sites as `deployment` runs them and, once west has joined east, whether a message crosses each way. */
  async function joinedAndCarrying(deployment: Deployment): Promise<Record<Site, boolean>> {
    const sites = await startSites(deployment);
    expect(await eventually(async () => (await leafCount(sites.east)) === 1)).toBe(true);
    return carriesAcross(sites, deployment);
  }

  beforeAll(async () => {
    if (!hasNatsServer) return;
    dir = mkdtempSync(path.join(tmpdir(), 'dqkd-deploy-nats-'));
    pki = path.join(dir, 'pki');
    await ensureDevPki({ dir: pki });
  });

  afterEach(async () => {
    await Promise.all(
      servers.splice(0).map(
        (server) =>
          new Promise<void>((resolve) => {
            if (server.process.exitCode !== null) return resolve();
            const kill = setTimeout(() => server.process.kill('SIGKILL'), 5_000);
            server.process.once('exit', () => {
              clearTimeout(kill);
              resolve();
            });
            server.process.kill('SIGTERM');
          }),
      ),
    );
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /**
   * The link's user may do what stream sourcing across the two JetStream domains needs and nothing else:
   * a client at one site (what a compromised site has) reaches none of the other site's JetStream API but
   * the creation of its own source consumer, and none of its subjects. Each site holds on its own side of
   * the link, even when the other side sets no limits.
   */
  function keepsEachSiteToItself(deployment: () => Deployment, test: typeof it) {
    const keeps = (target: Site, unlimited?: Site) => async () => {
      const attacker = peerOf(target);
      const sites = await startSites(deployment(), { unlimited });
      expect(await eventually(async () => (await leafCount(sites.east)) === 1)).toBe(true);
      const connected = await connectSites(sites, deployment());
      const clients: NatsConnection[] = [];
      try {
        const defender = await clientOf(sites[target]);
        clients.push(defender);
        const jsm = await jetstreamManager(defender);
        const names = siteStreams(target);
        const metadata = new TextEncoder().encode('sealed metadata');
        const send = (site: Site, msgId: string) =>
          connected.buses[site].publish(siteStreams(site).toPeer, metadata, { msgId });
        await send(target, `${target}:1`);
        expect(await eventually(async () => (await messagesIn(jsm, names.out)) === 1)).toBe(true);
        // Between the committed sides, the attacker's messages reach the target's IN stream. A side without
        // limits may not serve the target's source consumer (east's permissions leave a west without the
        // committed mapping no way to), and only what the target holds matters then.
        const linked = unlimited === undefined;
        if (linked) {
          await send(attacker, `${attacker}:1`);
          expect(await eventually(async () => (await messagesIn(jsm, names.in)) === 1)).toBe(true);
        }
        const before = await holdings(jsm, target);
        const inConfig = (await jsm.streams.info(names.in)).config;

        const intruder = await clientOf(sites[attacker]);
        clients.push(intruder);
        await attack(intruder, target, natsDomains(deployment().networkFile)[KME[target]]!, inConfig);
        await sleep(1_000);
        expect(await holdings(jsm, target)).toEqual(before);

        // And the link still carries what it is for.
        if (linked) {
          await send(attacker, `${attacker}:2`);
          expect(await eventually(async () => (await messagesIn(jsm, names.in)) === 2)).toBe(true);
        }
      } finally {
        await Promise.all(clients.map((client) => client.close()));
        await connected.close();
      }
    };

    test("keeps east's streams, consumers and subjects from a client at west", keeps('east'), 60_000);
    test("keeps west's streams, consumers and subjects from a client at east", keeps('west'), 60_000);
    test(
      "keeps east's to itself even when west's side of the link sets no limits",
      keeps('east', 'west'),
      60_000,
    );
    test(
      "keeps west's to itself even when east's side of the link sets no limits",
      keeps('west', 'east'),
      60_000,
    );
  }

  describe('of docker-compose (deploy/nats/east.conf and west.conf)', () => {
    const compose = (): Deployment => {
      const services = (
        parse(readFileSync(path.join(WORKSPACE, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
          services: Record<string, { environment: SiteEnv }>;
        }
      ).services;
      /**
       * A service's environment as docker-compose gives it: each optional variable at its default, each
       * required one (a password, which has none) as an operator's .env would set it.
       */
      const environment = (service: string): SiteEnv =>
        Object.fromEntries(
          Object.entries(services[service]!.environment).map(([name, value]) => [
            name,
            value
              .replace(/\$\{\w+:-([^}]*)\}/g, '$1')
              .replace(/\$\{(\w+):\?[^}]*\}/g, (_, variable: string) => `p${variable.replaceAll('_', '')}`),
          ]),
        );
      return {
        writeConfig: (site, folder, ports) => {
          const file = path.join(folder, 'site.conf');
          const config = readFileSync(path.join(WORKSPACE, 'deploy/nats', `${site}.conf`), 'utf8');
          writeFileSync(
            file,
            localise(config, ports, { '/etc/dqkd/pki/': `${pki}/`, '/data': path.join(folder, 'data') }),
          );
          return file;
        },
        serverEnv: (site, hubLeafPort) => ({
          APP_USER: environment(`nats-${site}`)['APP_USER']!,
          APP_PASSWORD: environment(`nats-${site}`)['APP_PASSWORD']!,
          LEAF_USER,
          LEAF_PASSWORD,
          LEAF_URL: leafUrl(LEAF_PASSWORD, hubLeafPort),
        }),
        // The credentials the site's processes put in their NATS_URL.
        auth: (site) => {
          const url = new URL(environment(`replication-${site}`)['NATS_URL']!);
          return { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) };
        },
        replicationEnv: (site) => environment(`replication-${site}`),
        networkFile: 'deploy/compose/network.yaml',
      };
    };

    withNats('joins the west site to the east hub over mutual TLS with the leaf credentials', async () => {
      const { east, west } = await startSites(compose());
      expect(await eventually(async () => (await leafCount(east)) === 1)).toBe(true);
      const domain = async (server: Server) =>
        (await monitor<{ jetstream: { config: { domain: string } } }>(server, 'varz')).jetstream.config
          .domain;
      expect([await domain(east), await domain(west)]).toEqual(['east', 'west']);
    });

    // Each site is a JetStream domain of its own: a replication that looked for its peer's OUT stream in its own
    // domain never received anything.
    withNats(
      "carries a message into each site's IN stream from the other with the sites' environment",
      async () => {
        expect(await joinedAndCarrying(compose())).toEqual({ east: true, west: true });
      },
      60_000,
    );

    withNats('takes clients at either site only with the credentials of its processes', async () => {
      const sites = await startSites(compose());
      for (const site of ['east', 'west'] as const) {
        const anonymous = await connect({ servers: `nats://127.0.0.1:${sites[site].ports.client}` }).then(
          (nc) => nc.close().then(() => 'connected'),
          (error: Error) => error.message,
        );
        expect({ site, anonymous }).toEqual({
          site,
          anonymous: expect.stringMatching(/Authorization Violation/i),
        });
        const processes = await clientOf(sites[site]);
        await processes.close();
      }
    });

    withNats(
      'runs each KME process of a site on its NATS with the NATS_URL compose gives it',
      async () => {
        const sites = await startSites(compose());
        const site = await TestSite.create();
        try {
          for (const app of ['api-gateway', 'key-generator', 'replication']) {
            // The service's NATS_URL, credentials and all, with the test server's address for nats-east's.
            const url = new URL(compose().replicationEnv('east')['NATS_URL']!);
            url.host = `127.0.0.1:${sites.east.ports.client}`;
            const env = { ...site.env('kme-east'), NATS_URL: url.toString(), DQKD_API_PORT: '0' };
            const process = AppProcess.start(app, env, site.dir);
            await process.waitFor(`${app} of kme-east is running`);
            expect({ app, ready: await process.readiness() }).toMatchObject({ app, ready: { status: 200 } });
            process.signal('SIGTERM');
            expect(await process.exit()).toBe(0);
          }
        } finally {
          await site.remove();
        }
      },
      120_000,
    );

    withNats('refuses a west site that presents the wrong leaf password', async () => {
      const { east, west } = await startSites(compose(), { westPassword: 'not-the-password' });
      expect(await eventually(async () => west.log.includes('Authorization Violation'))).toBe(true);
      expect(await leafCount(east)).toBe(0);
    });

    keepsEachSiteToItself(compose, withNats);
  });

  describe('of the Kubernetes overlays (nats-config ConfigMaps)', () => {
    type Resource = { kind: string; metadata: { name: string }; data?: object };
    const renderings = new Map<Site, Resource[]>();

    /** The resources of a region's overlay, as `kubectl kustomize` renders them. */
    function rendered(region: Site): Resource[] {
      const cached = renderings.get(region);
      if (cached) return cached;
      const output = spawnSync('kubectl', ['kustomize', path.join(WORKSPACE, 'deploy/overlays', region)], {
        encoding: 'utf8',
        maxBuffer: 64 * 1024 * 1024,
      });
      expect(output.stderr).toBe('');
      const resources = parseAllDocuments(output.stdout).map((document) => document.toJS() as Resource);
      renderings.set(region, resources);
      return resources;
    }

    function natsConfig(region: Site): Record<string, string> {
      const configMap = rendered(region).find(
        (resource) => resource.kind === 'ConfigMap' && resource.metadata.name.startsWith('nats-config-'),
      );
      return configMap?.data as Record<string, string>;
    }

    const kubernetes = (): Deployment => ({
      writeConfig: (region, folder, ports) => {
        const paths = {
          '/etc/nats/tls/tls.crt': path.join(pki, `${KME[region]}.pem`),
          '/etc/nats/tls/tls.key': path.join(pki, `${KME[region]}.key`),
          '/etc/nats/tls/ca.crt': path.join(pki, 'ca.pem'),
          '/data': path.join(folder, 'data'),
        };
        for (const [name, text] of Object.entries(natsConfig(region))) {
          writeFileSync(path.join(folder, name), localise(text, ports, paths));
        }
        return path.join(folder, 'nats.conf');
      },
      serverEnv: (region, hubLeafPort) => ({
        NATS_SERVER_NAME: `nats-${region}`,
        NATS_DOMAIN: region,
        APP_USER: 'dqkd',
        APP_PASSWORD: 'test-app-password',
        LEAF_USER,
        LEAF_PASSWORD,
        LEAF_URL: leafUrl(LEAF_PASSWORD, hubLeafPort),
      }),
      auth: () => ({ user: 'dqkd', pass: 'test-app-password' }),
      // Replication's environment as the overlays render it; its Secret- and ConfigMap-fed values aside.
      replicationEnv: (region) => {
        const deployment = rendered(region).find(
          (resource) => resource.kind === 'Deployment' && resource.metadata.name === 'replication',
        ) as unknown as {
          spec: { template: { spec: { containers: { env: { name: string; value?: string }[] }[] } } };
        };
        const env = deployment.spec.template.spec.containers[0]!.env;
        return Object.fromEntries(
          env.flatMap(({ name, value }) => (value === undefined ? [] : [[name, value]])),
        );
      },
      networkFile: 'deploy/base/network.yaml',
    });

    withNatsAndKubectl(
      "join the west region to the east hub with the certificates of their Secrets, and carry a message into each region's IN stream from the other",
      async () => {
        expect(await joinedAndCarrying(kubernetes())).toEqual({ east: true, west: true });
      },
      60_000,
    );

    keepsEachSiteToItself(kubernetes, withNatsAndKubectl);
  });
});
