import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

import { JetStreamBus, protocolSubject, siteTopology, type Bus } from '@dqkd/messaging';
import { ensureDevPki } from '@dqkd/pki';
import { replicationSettings } from '@dqkd/replication/dist/app/replication-settings';
import { parse, parseAllDocuments } from 'yaml';

import { WORKSPACE } from './support/app-process';

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

interface Ports {
  readonly client: number;
  readonly monitor: number;
  readonly leaf: number;
}

interface Server {
  readonly process: ChildProcess;
  readonly ports: Ports;
  log: string;
}

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

async function leafCount(server: Server): Promise<number> {
  return (await monitor<{ leafnodes: number }>(server, 'leafz')).leafnodes;
}

type SiteEnv = Readonly<Record<string, string>>;

/** Each KME's JetStream domain in a committed network file. */
function natsDomains(networkFile: string): Record<string, string> {
  const network = parse(readFileSync(path.join(WORKSPACE, networkFile), 'utf8')) as {
    kmes: { id: string; nats_domain: string }[];
  };
  return Object.fromEntries(network.kmes.map((kme) => [kme.id, kme.nats_domain]));
}

/**
 * Whether a message kme-east's apps publish reaches kme-west's IN stream, each site provisioning what its
 * replication would with the deployment's environment (`env`) and network file.
 */
async function carriesAcross(
  servers: { east: Server; west: Server },
  env: { east: SiteEnv; west: SiteEnv },
  networkFile: string,
  auth?: { user: string; pass: string },
): Promise<boolean> {
  const domains = natsDomains(networkFile);
  const prefix = `t${Date.now().toString(36)}`;
  const topologyOf = (self: string, peer: string, siteEnv: SiteEnv) =>
    siteTopology(self, [peer], {
      prefix,
      peerDomain: replicationSettings(siteEnv).peerDomains ? (kme) => domains[kme] : undefined,
    });
  const connect = (server: Server, topology: ReturnType<typeof siteTopology>) =>
    JetStreamBus.connect({ servers: `nats://127.0.0.1:${server.ports.client}`, auth }, topology);
  const buses: Bus[] = [];
  try {
    const eastBus = await connect(servers.east, topologyOf('kme-east', 'kme-west', env.east));
    buses.push(eastBus);
    const westTopology = topologyOf('kme-west', 'kme-east', env.west);
    const westBus = await connect(servers.west, westTopology);
    buses.push(westBus);
    const subject = protocolSubject('kme-east', 'kme-west', 'metadata', { prefix });
    await eastBus.publish(subject, new TextEncoder().encode('sealed metadata'), { msgId: 'metadata:1' });
    const seen: string[] = [];
    await westBus.consume(westTopology.consumers![0]!, async (message) => {
      seen.push(message.subject);
      await message.ack();
    });
    return await eventually(async () => seen.includes(subject), 20_000);
  } finally {
    await Promise.all(buses.map((bus) => bus.close({ graceMs: 100 })));
  }
}

describe('the inter-site NATS link', () => {
  let dir: string;
  let pki: string;
  const servers: Server[] = [];

  async function start(config: string, file: string, ports: Ports, env: Record<string, string>) {
    writeFileSync(file, config);
    const child = spawn('nats-server', ['-c', file], {
      env: { PATH: process.env['PATH'] ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const server: Server = { process: child, ports, log: '' };
    child.stderr?.on('data', (chunk: Buffer) => (server.log += chunk.toString()));
    child.stdout?.on('data', (chunk: Buffer) => (server.log += chunk.toString()));
    servers.push(server);
    const up = await eventually(async () => (await fetch(`http://127.0.0.1:${ports.monitor}/healthz`)).ok);
    if (!up) throw new Error(`nats-server did not start:\n${server.log}`);
    return server;
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

  describe('of docker-compose (deploy/nats/east.conf and west.conf)', () => {
    async function startSites(westPassword: string) {
      const read = (site: string) =>
        readFileSync(path.join(WORKSPACE, 'deploy/nats', `${site}.conf`), 'utf8');
      const site = async (name: string, env: Record<string, string>, ports: Ports, hubLeafPort: number) => {
        mkdirSync(path.join(dir, `compose-${name}`), { recursive: true });
        const config = localise(read(name), ports, {
          '/etc/dqkd/pki/': `${pki}/`,
          '/data': path.join(dir, `compose-${name}`, 'data'),
        });
        return start(config, path.join(dir, `compose-${name}`, 'site.conf'), ports, {
          ...env,
          LEAF_URL: leafUrl(westPassword, hubLeafPort),
        });
      };
      const eastPorts = await freePorts();
      const east = await site('east', { LEAF_USER, LEAF_PASSWORD }, eastPorts, eastPorts.leaf);
      const west = await site('west', {}, await freePorts(), eastPorts.leaf);
      return { east, west };
    }

    withNats('joins the west site to the east hub over mutual TLS with the leaf credentials', async () => {
      const { east, west } = await startSites(LEAF_PASSWORD);
      expect(await eventually(async () => (await leafCount(east)) === 1)).toBe(true);
      const domain = async (server: Server) =>
        (await monitor<{ jetstream: { config: { domain: string } } }>(server, 'varz')).jetstream.config
          .domain;
      expect([await domain(east), await domain(west)]).toEqual(['east', 'west']);
    });

    // Each site is a JetStream domain of its own: a replication that looked for its peer's OUT stream in its own
    // domain never received anything.
    withNats(
      "carries a message into the other site's IN stream with the sites' environment",
      async () => {
        const { east, west } = await startSites(LEAF_PASSWORD);
        expect(await eventually(async () => (await leafCount(east)) === 1)).toBe(true);
        const compose = parse(readFileSync(path.join(WORKSPACE, 'docker-compose.yml'), 'utf8'), {
          merge: true,
        }) as { services: Record<string, { environment: SiteEnv }> };
        const env = (service: string) => compose.services[service]!.environment;
        const carried = await carriesAcross(
          { east, west },
          { east: env('replication-east'), west: env('replication-west') },
          'deploy/compose/network.yaml',
        );
        expect(carried).toBe(true);
      },
      60_000,
    );

    withNats('refuses a west site that presents the wrong leaf password', async () => {
      const { east, west } = await startSites('not-the-password');
      expect(await eventually(async () => west.log.includes('Authorization Violation'))).toBe(true);
      expect(await leafCount(east)).toBe(0);
    });
  });

  describe('of the Kubernetes overlays (nats-config ConfigMaps)', () => {
    /** The resources of a region's overlay, as `kubectl kustomize` renders them. */
    function rendered(region: string): { kind: string; metadata: { name: string }; data?: object }[] {
      const output = spawnSync('kubectl', ['kustomize', path.join(WORKSPACE, 'deploy/overlays', region)], {
        encoding: 'utf8',
        maxBuffer: 64 * 1024 * 1024,
      });
      expect(output.stderr).toBe('');
      return parseAllDocuments(output.stdout).map(
        (document) => document.toJS() as { kind: string; metadata: { name: string }; data?: object },
      );
    }

    function natsConfig(region: string): Record<string, string> {
      const configMap = rendered(region).find(
        (resource) => resource.kind === 'ConfigMap' && resource.metadata.name.startsWith('nats-config-'),
      );
      return configMap?.data as Record<string, string>;
    }

    withNatsAndKubectl(
      "join the west region to the east hub with the certificates of their Secrets, and carry a message into the other region's IN stream",
      async () => {
        const site = async (region: string, kme: string, ports: Ports, hubLeafPort: number) => {
          const folder = path.join(dir, `k8s-${region}`);
          mkdirSync(folder, { recursive: true });
          const paths = {
            '/etc/nats/tls/tls.crt': path.join(pki, `${kme}.pem`),
            '/etc/nats/tls/tls.key': path.join(pki, `${kme}.key`),
            '/etc/nats/tls/ca.crt': path.join(pki, 'ca.pem'),
            '/data': path.join(folder, 'data'),
          };
          for (const [name, text] of Object.entries(natsConfig(region))) {
            writeFileSync(path.join(folder, name), localise(text, ports, paths));
          }
          return start(
            readFileSync(path.join(folder, 'nats.conf'), 'utf8'),
            path.join(folder, 'nats.conf'),
            ports,
            {
              NATS_SERVER_NAME: `nats-${region}`,
              NATS_DOMAIN: region,
              APP_USER: 'dqkd',
              APP_PASSWORD: 'test-app-password',
              LEAF_USER,
              LEAF_PASSWORD,
              LEAF_URL: leafUrl(LEAF_PASSWORD, hubLeafPort),
            },
          );
        };
        const eastPorts = await freePorts();
        const east = await site('east', 'kme-east', eastPorts, eastPorts.leaf);
        const west = await site('west', 'kme-west', await freePorts(), eastPorts.leaf);
        expect(await eventually(async () => (await leafCount(east)) === 1)).toBe(true);

        // Replication's environment as the overlays render it; its Secret- and ConfigMap-fed values aside.
        const replicationEnv = (region: string): SiteEnv => {
          const deployment = rendered(region).find(
            (resource) => resource.kind === 'Deployment' && resource.metadata.name === 'replication',
          ) as unknown as {
            spec: { template: { spec: { containers: { env: { name: string; value?: string }[] }[] } } };
          };
          const env = deployment.spec.template.spec.containers[0]!.env;
          return Object.fromEntries(
            env.flatMap(({ name, value }) => (value === undefined ? [] : [[name, value]])),
          );
        };
        const carried = await carriesAcross(
          { east, west },
          { east: replicationEnv('east'), west: replicationEnv('west') },
          'deploy/base/network.yaml',
          { user: 'dqkd', pass: 'test-app-password' },
        );
        expect(carried).toBe(true);
      },
      60_000,
    );
  });
});
