import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

import { loadNetworkFile, parseEntropyServerEnv, parseProcessEnv } from '@dqkd/config';
import { encodeSealingPublicKeys, ensureDevPki, generateSealingIdentity } from '@dqkd/pki';
import { parse } from 'yaml';

import { AppProcess, WORKSPACE } from './support/app-process';
import { TestSite } from './support/test-site';

// docker-compose.yml as docker-compose resolves it (anchors merged, variables substituted); no
// Docker engine is needed for `docker-compose config`.
const hasCompose = spawnSync('docker-compose', ['version']).status === 0;
if (!hasCompose) console.warn('docker-compose is not installed: skipping the docker-compose checks');
const describeWithCompose = hasCompose ? describe : describe.skip;

interface ComposeService {
  build?: { args?: Record<string, string> };
  image?: string;
  environment?: Record<string, string>;
  volumes?: ({ source?: string; target: string; read_only?: boolean; type: string } | string)[];
  secrets?: ({ source: string } | string)[];
  ports?: ({ published: number | string; target: number; host_ip?: string } | string)[];
  networks?: Record<string, { aliases?: string[] } | null> | string[];
  read_only?: boolean;
}

const SITES = ['east', 'west'] as const;
const KME_APPS = ['api-gateway', 'key-generator', 'replication', 'ttl-reaper'];
const ENTROPY_SERVERS = ['entropy-1', 'entropy-2', 'entropy-3'];
/** The development PKI as docker-compose resolves its path. */
const DEV_PKI = path.join(WORKSPACE, '.dqkd/pki');
/** The sealing public keys the network file names: every process loads them with it. */
const PUBLIC_KEYS = ['kme-east', 'kme-west', ...ENTROPY_SERVERS].map((id) => `${id}.sealing.pub.json`);

/** The secrets compose requires, as an operator's .env gives them. */
const SECRETS = {
  DQKD_POSTGRES_PASSWORD: 'pPostgres0123',
  DQKD_LEAF_PASSWORD: 'pLeaf0123',
  DQKD_NATS_EAST_PASSWORD: 'pEast0123',
  DQKD_NATS_WEST_PASSWORD: 'pWest0123',
  GRAFANA_ADMIN_PASSWORD: 'pGrafana0123',
};

function compose(args: readonly string[], secrets: Record<string, string> = SECRETS) {
  return spawnSync(
    'docker-compose',
    ['--project-directory', WORKSPACE, '-f', 'docker-compose.yml', ...args],
    {
      cwd: WORKSPACE,
      encoding: 'utf8',
      env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? tmpdir(), ...secrets },
    },
  );
}

// docker-compose 1 prints the short syntax, Compose 2 the long one: compare in the long one.
function mounts(service: ComposeService): Mount[] {
  return (service.volumes ?? []).map((volume) => {
    if (typeof volume !== 'string') {
      return { source: volume.source ?? '', target: volume.target, read_only: volume.read_only === true };
    }
    const [source, target, mode] = volume.split(':');
    return { source: source!, target: target!, read_only: mode === 'ro' };
  });
}

interface Mount {
  readonly source: string;
  readonly target: string;
  readonly read_only: boolean;
}

/** The services as `docker-compose config` resolves them. */
function resolvedServices(): Record<string, ComposeService> {
  const resolved = compose(['config']);
  if (resolved.status !== 0) throw new Error(`docker-compose config failed:\n${resolved.stderr}`);
  return (parse(resolved.stdout) as { services: Record<string, ComposeService> }).services;
}

describeWithCompose('docker-compose.yml', () => {
  let services: Record<string, ComposeService>;

  beforeAll(() => {
    services = resolvedServices();
  });

  const ports = (service: ComposeService) =>
    (service.ports ?? []).map((port) => {
      if (typeof port !== 'string')
        return { host_ip: port.host_ip, published: Number(port.published), target: port.target };
      const [hostIp, published, target] = port.replace(/\/tcp$/, '').split(':');
      return { host_ip: hostIp, published: Number(published), target: Number(target) };
    });
  const networks = (service: ComposeService) =>
    Array.isArray(service.networks) ? service.networks : Object.keys(service.networks ?? {});

  it('passes docker-compose config -q', () => {
    const check = compose(['config', '-q']);
    expect({ status: check.status, stderr: check.stderr }).toEqual({ status: 0, stderr: '' });
  });

  it.each(Object.keys(SECRETS))('refuses to start without %s, for want of a shared default', (missing) => {
    const { [missing]: _left, ...others } = SECRETS as Record<string, string>;
    const check = compose(['config', '-q'], others);
    expect(check.status).not.toBe(0);
    expect(check.stderr).toContain(`set ${missing} in .env`);
  });

  it('passes on the passwords it is given, none of them a default', () => {
    expect(services['nats-east']!.environment!['APP_PASSWORD']).toBe(SECRETS.DQKD_NATS_EAST_PASSWORD);
    expect(services['grafana']!.environment!['GF_SECURITY_ADMIN_PASSWORD']).toBe(
      SECRETS.GRAFANA_ADMIN_PASSWORD,
    );
    expect(JSON.stringify(services)).not.toContain('change-me');
    for (const site of SITES) {
      expect(services[`postgres-${site}`]!.environment!['POSTGRES_PASSWORD']).toBe(
        SECRETS.DQKD_POSTGRES_PASSWORD,
      );
    }
  });

  it('runs the four KME apps at both sites, three shared entropy servers, Prometheus and Grafana', () => {
    const expected = [
      ...SITES.flatMap((site) => [...KME_APPS, 'postgres', 'nats'].map((app) => `${app}-${site}`)),
      ...ENTROPY_SERVERS,
      'prometheus',
      'grafana',
    ];
    expect(Object.keys(services).sort()).toEqual(expected.sort());
  });

  describe.each(SITES)('at site %s', (site) => {
    it.each(KME_APPS)('builds %s from the one Dockerfile and gives it the site environment', (app) => {
      const service = services[`${app}-${site}`]!;
      expect(service.build?.args).toEqual({ APP: app });
      expect(service.environment).toMatchObject({
        KME_ID: `kme-${site}`,
        DQKD_NETWORK_FILE: '/etc/dqkd/network.yaml',
        DQKD_HOME: '/etc/dqkd',
        DATABASE_URL: `postgres://dqkd:${SECRETS.DQKD_POSTGRES_PASSWORD}@postgres-${site}:5432/dqkd`,
        DQKD_KEK_FILE: `/run/secrets/kek-${site}`,
        // The site's NATS takes its processes' credentials only (deploy-nats e2e).
        NATS_URL: expect.stringMatching(new RegExp(`^nats://dqkd-${site}:[^@]+@nats-${site}:4222$`)),
        DQKD_LISTEN_HOST: '0.0.0.0',
        DQKD_HEALTH_PORT: '9464',
      });
      expect(service.secrets?.map((secret) => (typeof secret === 'string' ? secret : secret.source))).toEqual(
        [`kek-${site}`],
      );
      expect(networks(service)).toEqual([site]);
      expect(service.read_only).toBe(true);
    });

    it.each(KME_APPS)('gives %s an environment the process accepts', (app) => {
      const result = parseProcessEnv(services[`${app}-${site}`]!.environment!, '/app');
      expect(result.issues).toEqual([]);
    });

    it('publishes the ETSI API of its gateway on the host loopback only', () => {
      expect(ports(services[`api-gateway-${site}`]!)).toEqual([
        { host_ip: '127.0.0.1', published: site === 'east' ? 8443 : 9443, target: 8443 },
      ]);
      expect(services[`api-gateway-${site}`]!.environment!['DQKD_API_PORT']).toBe('8443');
    });
  });

  it('mounts the network file read-only into every DQKD process', () => {
    for (const name of [
      ...SITES.flatMap((site) => KME_APPS.map((app) => `${app}-${site}`)),
      ...ENTROPY_SERVERS,
    ]) {
      const network = mounts(services[name]!).filter((mount) => mount.target === '/etc/dqkd/network.yaml');
      expect({ name, network }).toEqual({
        name,
        network: [
          {
            source: path.join(WORKSPACE, 'deploy/compose/network.yaml'),
            target: '/etc/dqkd/network.yaml',
            read_only: true,
          },
        ],
      });
    }
  });

  it("mounts into each process, read-only, only the development PKI's files that process reads", () => {
    const own = (id: string, sealing = true) => [
      'ca.pem',
      `${id}.pem`,
      `${id}.key`,
      ...(sealing ? [`${id}.sealing.json`] : []),
    ];
    const expected: Record<string, string[]> = {
      ...Object.fromEntries(
        SITES.flatMap((site) => [
          ...['api-gateway', 'key-generator', 'replication'].map((app) => [
            `${app}-${site}`,
            [...PUBLIC_KEYS, ...own(`kme-${site}`)],
          ]),
          [`ttl-reaper-${site}`, PUBLIC_KEYS],
          [`nats-${site}`, own(`kme-${site}`, false)],
        ]),
      ),
      ...Object.fromEntries(ENTROPY_SERVERS.map((id) => [id, [...PUBLIC_KEYS, ...own(id)]])),
    };
    for (const [name, files] of Object.entries(expected)) {
      const pki = mounts(services[name]!).filter((mount) => mount.source.startsWith(DEV_PKI));
      // Each file at its own name under /etc/dqkd/pki, never the folder as a whole (with the CA's key).
      expect({ name, pki }).toEqual({
        name,
        pki: files.map((file) => ({
          source: path.join(DEV_PKI, file),
          target: `/etc/dqkd/pki/${file}`,
          read_only: true,
        })),
      });
    }
  });

  it.each(ENTROPY_SERVERS)('runs %s under its own ID on the networks of both sites', (id) => {
    const service = services[id]!;
    expect(service.build?.args).toEqual({ APP: 'entropy-server' });
    expect(service.environment!['ENTROPY_SERVER_ID']).toBe(id);
    expect(networks(service).sort()).toEqual(['east', 'west']);
    expect(parseEntropyServerEnv(service.environment!, '/app').issues).toEqual([]);
  });

  it('lets the west site dial the leaf-node link by the name on the east KME certificate', () => {
    const east = services['nats-east']!.networks as Record<string, { aliases?: string[] } | null>;
    expect(east['west']?.aliases).toContain('kme-east');
    expect(services['nats-west']!.environment!['LEAF_URL']).toMatch(/^tls:\/\/[^:]+:[^@]+@kme-east:7422$/);
    expect(services['nats-east']!.environment!['LEAF_PASSWORD']).toBe(
      services['nats-west']!.environment!['LEAF_URL']!.split(':')[2]!.split('@')[0],
    );
  });

  it('has Prometheus scrape the health port of every DQKD process, each target a compose service', () => {
    const config = parse(readFileSync(path.join(WORKSPACE, 'deploy/prometheus/prometheus.yml'), 'utf8')) as {
      scrape_configs: {
        job_name: string;
        static_configs: { targets: string[]; labels?: { site?: string } }[];
      }[];
    };
    const targets = config.scrape_configs
      .filter((job) => job.job_name !== 'prometheus')
      .flatMap((job) => job.static_configs.flatMap((group) => group.targets));
    for (const target of targets) {
      const [host, port] = target.split(':');
      expect({ target, known: host! in services, port }).toEqual({ target, known: true, port: '9464' });
    }
    const scraped = targets.map((target) => target.split(':')[0]).sort();
    const apps = [...SITES.flatMap((site) => KME_APPS.map((app) => `${app}-${site}`)), ...ENTROPY_SERVERS];
    expect(scraped).toEqual(apps.sort());
  });
});

describe('the passwords of docker-compose.yml', () => {
  /** Every scalar of the file as written (anchors included), with the key it sits under. */
  function entries(node: unknown, key = ''): [string, string][] {
    if (Array.isArray(node)) return node.flatMap((each) => entries(each, key));
    if (node !== null && typeof node === 'object') {
      return Object.entries(node).flatMap(([name, value]) => entries(value, name));
    }
    return typeof node === 'string' ? [[key, node]] : [];
  }
  const written = () => entries(parse(readFileSync(path.join(WORKSPACE, 'docker-compose.yml'), 'utf8')));
  /** A variable compose must be given: `${VAR:?message}`, and nothing around it. */
  const REQUIRED = /^\$\{[A-Z][A-Z0-9_]*:\?[^}]+\}$/;

  it('takes every *PASSWORD from a variable it requires, never a default', () => {
    const passwords = written().filter(([key]) => /PASSWORD$/.test(key));
    expect(passwords.length).toBeGreaterThanOrEqual(5);
    expect(passwords.filter(([, value]) => !REQUIRED.test(value))).toEqual([]);
  });

  it('puts only required variables as the password of a URL (DATABASE_URL, NATS_URL, LEAF_URL)', () => {
    // scheme://user:password@host, where the user may itself be a ${VAR:-default}.
    const inUrls = written().flatMap(([key, value]): [string, string][] => {
      const match = /^[a-z]+:\/\/(?:\$\{[^}]*\}|[^:@/]*):(\$\{[^}]*\}|[^@/]*)@/.exec(value);
      return match ? [[key, match[1]!]] : [];
    });
    expect(inUrls.map(([key]) => key)).toEqual(
      expect.arrayContaining(['DATABASE_URL', 'NATS_URL', 'LEAF_URL']),
    );
    expect(inUrls.filter(([, password]) => !REQUIRED.test(password))).toEqual([]);
  });
});

describeWithCompose('a DQKD container of docker-compose.yml', () => {
  let services: Record<string, ComposeService>;
  let site: TestSite;

  beforeAll(async () => {
    services = resolvedServices();
    site = await TestSite.create();
  });

  afterAll(async () => {
    await site?.remove();
  });

  /**
   * A folder laid out as the service's /etc/dqkd: only what compose mounts there, the development PKI's files
   * taken from the site's own PKI.
   */
  function etcOf(name: string): string {
    const etc = mkdtempSync(path.join(site.dir, `${name}-`));
    for (const mount of mounts(services[name]!)) {
      if (!mount.target.startsWith('/etc/dqkd/')) continue;
      const source = mount.source.startsWith(DEV_PKI)
        ? path.join(site.dir, '.dqkd/pki', path.relative(DEV_PKI, mount.source))
        : mount.source;
      const target = path.join(etc, path.relative('/etc/dqkd', mount.target));
      mkdirSync(path.dirname(target), { recursive: true });
      cpSync(source, target, { recursive: true });
    }
    return etc;
  }

  /** Starts the process, waits until it is ready, and stops it. */
  async function runsReady(process: AppProcess, running: string): Promise<void> {
    await process.waitFor(running);
    expect(await process.readiness()).toMatchObject({ status: 200, body: { status: 'ok' } });
    process.signal('SIGTERM');
    expect(await process.exit()).toBe(0);
  }

  it.each(KME_APPS)('runs %s of kme-east with only the files its service mounts', async (app) => {
    const etc = etcOf(`${app}-east`);
    const env = {
      ...site.env('kme-east'),
      DQKD_HOME: etc,
      DQKD_NETWORK_FILE: path.join(etc, 'network.yaml'),
      DQKD_API_PORT: '0',
    };
    await runsReady(AppProcess.start(app, env, site.dir), `${app} of kme-east is running`);
  });

  it('runs entropy-1 with only the files its service mounts', async () => {
    const etc = etcOf('entropy-1');
    const env = {
      ENTROPY_SERVER_ID: 'entropy-1',
      DQKD_HOME: etc,
      DQKD_NETWORK_FILE: path.join(etc, 'network.yaml'),
      DQKD_API_PORT: '0',
      DQKD_HEALTH_PORT: '0',
    };
    await runsReady(
      AppProcess.start('entropy-server', env, site.dir),
      'entropy-server of entropy-1 is running',
    );
  });
});

describe('the Dockerfile', () => {
  const dockerfile = () => readFileSync(path.join(WORKSPACE, 'Dockerfile'), 'utf8');

  it('builds in one stage, installs production dependencies in another and runs a slim image', () => {
    const stages = [...dockerfile().matchAll(/^FROM (\S+) AS (\S+)$/gm)].map((match) => [match[1], match[2]]);
    expect(stages).toEqual([
      ['${NODE_IMAGE}', 'manifests'],
      ['${NODE_IMAGE}', 'build'],
      ['${NODE_IMAGE}', 'prune'],
      ['${RUNTIME_IMAGE}', 'runtime'],
    ]);
    expect(dockerfile()).toMatch(/^ARG RUNTIME_IMAGE=node:20-[a-z]+-slim$/m);
    expect(dockerfile()).toContain('npm ci --omit=dev');
  });

  it('runs the chosen app as a non-root user, node itself as PID 1', () => {
    expect(dockerfile()).toMatch(/^USER 1000:1000$/m);
    expect(dockerfile()).toContain('CMD ["/bin/sh", "-c", "exec node apps/$APP/dist/main.js"]');
  });

  it('starts each app from the entry point its package names', () => {
    for (const app of [...KME_APPS, 'entropy-server']) {
      const manifest = JSON.parse(
        readFileSync(path.join(WORKSPACE, 'apps', app, 'package.json'), 'utf8'),
      ) as {
        main: string;
      };
      expect({ app, main: manifest.main }).toEqual({ app, main: 'dist/main.js' });
    }
  });

  it('leaves dependencies, builds, git and the development PKI out of the build context', () => {
    const ignored = readFileSync(path.join(WORKSPACE, '.dockerignore'), 'utf8').split('\n');
    expect(ignored).toEqual(expect.arrayContaining(['**/node_modules', '**/dist', '.nx', '.dqkd', '.git']));
  });
});

describe('deploy/compose/network.yaml', () => {
  let dir: string;

  beforeAll(async () => {
    // Laid out as in the containers: the network file beside the development PKI.
    dir = mkdtempSync(path.join(tmpdir(), 'dqkd-deploy-compose-'));
    copyFileSync(path.join(WORKSPACE, 'deploy/compose/network.yaml'), path.join(dir, 'network.yaml'));
    await ensureDevPki({ dir: path.join(dir, 'pki') });
    for (const id of ENTROPY_SERVERS) {
      writeFileSync(
        path.join(dir, 'pki', `${id}.sealing.pub.json`),
        encodeSealingPublicKeys(generateSealingIdentity(id)),
      );
    }
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('is a valid network file whose URLs name the compose services, on names their certificates carry', () => {
    const network = loadNetworkFile(path.join(dir, 'network.yaml'));
    const hosts = [
      ...network.kmes.map((kme) => [kme.id, new URL(kme.apiUrl).hostname]),
      ...network.entropyServers.map((server) => [server.id, new URL(server.url).hostname]),
    ];
    expect(hosts).toEqual([
      ['kme-east', 'kme-east'],
      ['kme-west', 'kme-west'],
      ['entropy-1', 'entropy-1'],
      ['entropy-2', 'entropy-2'],
      ['entropy-3', 'entropy-3'],
    ]);
  });
});
