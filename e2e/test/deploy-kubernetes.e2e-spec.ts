import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

import { parse, parseAllDocuments } from 'yaml';

import { WORKSPACE } from './support/app-process';

// Renders each region's overlay with kubectl's kustomize and checks the manifests against the apps.
const hasKubectl = spawnSync('kubectl', ['version', '--client']).status === 0;
if (!hasKubectl) console.warn('kubectl is not installed: skipping the Kubernetes manifest checks');
const describeWithKubectl = hasKubectl ? describe : describe.skip;

type Labels = Record<string, string>;
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    configMapKeyRef?: { name: string; key: string };
    secretKeyRef?: { name: string; key: string };
  };
}
interface Container {
  name: string;
  image: string;
  ports?: { name: string; containerPort: number }[];
  env?: EnvVar[];
  envFrom?: { configMapRef?: { name: string } }[];
  startupProbe?: { httpGet: { path: string; port: string }; periodSeconds: number; failureThreshold: number };
  livenessProbe?: { httpGet: { path: string; port: string } };
  readinessProbe?: { httpGet: { path: string; port: string } };
  resources?: { requests?: object; limits?: object };
  securityContext?: { readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean };
}
interface Volume {
  name: string;
  configMap?: { name: string };
  secret?: { secretName: string };
  projected?: { sources: { secret: { name: string; items: { key: string; path: string }[] } }[] };
}
interface Resource {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Labels };
  spec?: {
    replicas?: number;
    selector?: { matchLabels?: Labels } & Labels;
    template?: {
      metadata: { labels: Labels };
      spec: { containers: Container[]; volumes?: Volume[]; securityContext?: { runAsNonRoot?: boolean } };
    };
    ports?: { name: string; port: number }[];
    scaleTargetRef?: { kind: string; name: string };
    endpoints?: { port: string; path: string }[];
    podSelector?: { matchLabels?: Labels; matchExpressions?: { key: string; values?: string[] }[] };
    ingress?: { from?: object[]; ports?: { port: number }[] }[];
    egress?: { to?: object[]; ports?: { port: number; endPort?: number }[] }[];
    groups?: unknown;
  };
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

const KME_APPS = ['api-gateway', 'key-generator', 'replication', 'ttl-reaper'];
const ENTROPY_SERVERS = ['entropy-1', 'entropy-2', 'entropy-3'];

function render(region: string): Resource[] {
  const result = spawnSync('kubectl', ['kustomize', path.join(WORKSPACE, 'deploy/overlays', region)], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.status !== 0) throw new Error(`kubectl kustomize ${region} failed:\n${result.stderr}`);
  return parseAllDocuments(result.stdout).map((document) => {
    expect(document.errors).toEqual([]);
    return document.toJS() as Resource;
  });
}

const matches = (selector: Labels | undefined, labels: Labels | undefined) =>
  selector !== undefined &&
  Object.keys(selector).length > 0 &&
  Object.entries(selector).every(([key, value]) => labels?.[key] === value);

describeWithKubectl.each([
  ['east', 'kme-east', [...KME_APPS, ...ENTROPY_SERVERS]],
  ['west', 'kme-west', KME_APPS],
])('the Kubernetes overlay of region %s', (region, kmeId, deployments) => {
  let resources: Resource[];
  const ofKind = (kind: string) => resources.filter((resource) => resource.kind === kind);
  const named = (kind: string, name: string) =>
    ofKind(kind).find((resource) => resource.metadata.name === name) as Resource;
  const workloads = () => [...ofKind('Deployment'), ...ofKind('StatefulSet')];
  const podSpec = (workload: Resource) => workload.spec!.template!.spec;
  const container = (workload: Resource) => podSpec(workload).containers[0]!;
  const env = (workload: Resource, name: string) =>
    container(workload).env?.find((each) => each.name === name);
  const envValue = (workload: Resource, name: string): string | undefined => {
    const variable = env(workload, name);
    const ref = variable?.valueFrom?.configMapKeyRef;
    return ref ? named('ConfigMap', ref.name)?.data?.[ref.key] : variable?.value;
  };

  beforeAll(() => {
    resources = render(region);
  });

  it('renders every kind a site needs, all in the dqkd namespace', () => {
    const kinds = new Set(resources.map((resource) => resource.kind));
    for (const kind of [
      'Namespace',
      'Deployment',
      'StatefulSet',
      'Service',
      'HorizontalPodAutoscaler',
      'PodDisruptionBudget',
      'NetworkPolicy',
      'ServiceMonitor',
      'PrometheusRule',
      'ConfigMap',
      'Secret',
      'ServiceAccount',
    ]) {
      expect(kinds).toContain(kind);
    }
    const namespaced = resources.filter((resource) => resource.kind !== 'Namespace');
    expect(namespaced.filter((resource) => resource.metadata.namespace !== 'dqkd')).toEqual([]);
  });

  it(`runs the KME apps${region === 'east' ? ' and the three shared entropy servers' : ''}`, () => {
    expect(
      ofKind('Deployment')
        .map((resource) => resource.metadata.name)
        .sort(),
    ).toEqual([...deployments].sort());
    expect(ofKind('StatefulSet').map((resource) => resource.metadata.name)).toEqual(['nats']);
  });

  it('labels every resource with its site', () => {
    expect(resources.filter((resource) => resource.metadata.labels?.['site'] !== region)).toEqual([]);
    for (const workload of workloads()) {
      expect(workload.spec!.template!.metadata.labels['site']).toBe(region);
    }
  });

  it("selects each workload's own pods and exposes them through a Service", () => {
    for (const workload of workloads()) {
      const podLabels = workload.spec!.template!.metadata.labels;
      expect(matches(workload.spec!.selector!.matchLabels, podLabels)).toBe(true);
      const services = ofKind('Service').filter((service) => matches(service.spec!.selector, podLabels));
      expect({ workload: workload.metadata.name, exposed: services.length > 0 }).toEqual({
        workload: workload.metadata.name,
        exposed: true,
      });
      // A selector must not reach another workload's pods.
      for (const other of workloads().filter((each) => each !== workload)) {
        expect(matches(workload.spec!.selector!.matchLabels, other.spec!.template!.metadata.labels)).toBe(
          false,
        );
      }
    }
  });

  it('probes /health/live and /health/ready on the health port, 9464, bound to 0.0.0.0', () => {
    for (const workload of ofKind('Deployment')) {
      const app = container(workload);
      expect(app.livenessProbe?.httpGet).toEqual({ path: '/health/live', port: 'health' });
      expect(app.readinessProbe?.httpGet).toEqual({ path: '/health/ready', port: 'health' });
      expect(app.ports?.find((port) => port.name === 'health')?.containerPort).toBe(9464);
      expect(envValue(workload, 'DQKD_HEALTH_PORT')).toBe('9464');
      expect(envValue(workload, 'DQKD_LISTEN_HOST')).toBe('0.0.0.0');
      const service = ofKind('Service').find((each) =>
        matches(each.spec!.selector, workload.spec!.template!.metadata.labels),
      );
      expect(service?.spec!.ports).toContainEqual(expect.objectContaining({ name: 'health', port: 9464 }));
    }
  });

  it(`gives every KME app KME_ID ${kmeId}, the network file and the ledger and NATS from Secrets`, () => {
    for (const name of KME_APPS) {
      const workload = named('Deployment', name);
      expect(envValue(workload, 'KME_ID')).toBe(kmeId);
      expect(envValue(workload, 'DQKD_NETWORK_FILE')).toBe('/etc/dqkd/network/network.yaml');
      expect(envValue(workload, 'DQKD_KEK_FILE')).toBe('/etc/dqkd/kek/keyring');
      // The ttl-reaper has no bus: a NATS_URL would only be checked, and a placeholder there would stop it.
      const variables = name === 'ttl-reaper' ? ['DATABASE_URL'] : ['DATABASE_URL', 'NATS_URL'];
      for (const variable of variables) {
        const ref = env(workload, variable)?.valueFrom?.secretKeyRef;
        expect(named('Secret', ref!.name)?.stringData?.[ref!.key]).toBeDefined();
      }
      if (name === 'ttl-reaper') expect(env(workload, 'NATS_URL')).toBeUndefined();
    }
  });

  it('opens egress to NATS only for the apps with a bus, and to the entropy servers only for those that read samples', () => {
    const reach = (port: number) =>
      KME_APPS.filter((app) =>
        ofKind('NetworkPolicy').some((policy) => {
          const selector = policy.spec!.podSelector!;
          const apps = selector.matchExpressions?.[0]?.values ?? [
            selector.matchLabels?.['app.kubernetes.io/name'],
          ];
          return (
            apps.includes(app) &&
            (policy.spec!.egress ?? []).some((rule) =>
              (rule.ports ?? []).some((each) => each.port <= port && port <= (each.endPort ?? each.port)),
            )
          );
        }),
      );
    expect(reach(4222)).toEqual(['api-gateway', 'key-generator', 'replication']);
    expect(reach(7102)).toEqual(['key-generator', 'replication']);
    expect(reach(5432)).toEqual(KME_APPS);
  });

  it("names the KME's mounted PKI files after its ID, from Secrets that exist", () => {
    for (const name of KME_APPS.filter((app) => app !== 'ttl-reaper')) {
      const pki = podSpec(named('Deployment', name)).volumes!.find((volume) => volume.name === 'pki')!;
      const files = pki.projected!.sources.flatMap((source) => source.secret.items.map((item) => item.path));
      expect(files.sort()).toEqual(['ca.pem', `${kmeId}.key`, `${kmeId}.pem`, `${kmeId}.sealing.json`]);
      for (const source of pki.projected!.sources) expect(named('Secret', source.secret.name)).toBeDefined();
    }
  });

  it('gives the ttl-reaper, which reads no certificate or sealing identity, none of the PKI Secrets', () => {
    const volumes = podSpec(named('Deployment', 'ttl-reaper')).volumes!;
    expect(volumes.map((volume) => volume.name).sort()).toEqual(['kek', 'network', 'tmp']);
  });

  it('serves the ETSI API on 8443 from the api-gateway only, through its Service', () => {
    const gateway = named('Deployment', 'api-gateway');
    expect(container(gateway).ports).toContainEqual({
      name: 'etsi-api',
      containerPort: 8443,
      protocol: 'TCP',
    });
    expect(envValue(gateway, 'DQKD_API_PORT')).toBe('8443');
    expect(named('Service', 'api-gateway').spec!.ports).toContainEqual(
      expect.objectContaining({ name: 'etsi-api', port: 8443 }),
    );
    for (const name of deployments.filter((each) => each !== 'api-gateway')) {
      expect(envValue(named('Deployment', name), 'DQKD_API_PORT')).not.toBe('8443');
    }
  });

  it('runs each image of the same release, named after its app', () => {
    const tags = new Set<string>();
    for (const workload of ofKind('Deployment')) {
      const app = workload.spec!.template!.metadata.labels['app.kubernetes.io/name']!;
      const [image, tag] = container(workload).image.split(':');
      expect(image).toBe(`ghcr.io/dqkd/${app}`);
      tags.add(tag!);
    }
    expect([...tags]).toEqual(['0.1.0']);
  });

  it('runs every container as non-root on a read-only root file system with requests and limits', () => {
    for (const workload of workloads()) {
      expect(podSpec(workload).securityContext?.runAsNonRoot).toBe(true);
      const app = container(workload);
      expect(app.securityContext).toMatchObject({
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
      });
      expect(app.resources?.requests).toBeDefined();
      expect(app.resources?.limits).toBeDefined();
    }
  });

  it('scales the api-gateway on CPU and keeps one pod of every KME app through disruptions', () => {
    for (const hpa of ofKind('HorizontalPodAutoscaler')) {
      expect(named('Deployment', hpa.spec!.scaleTargetRef!.name)).toBeDefined();
    }
    expect(ofKind('HorizontalPodAutoscaler').map((hpa) => hpa.spec!.scaleTargetRef!.name)).toContain(
      'api-gateway',
    );
    for (const budget of ofKind('PodDisruptionBudget')) {
      const covered = ofKind('Deployment').filter((workload) =>
        matches(budget.spec!.selector!.matchLabels, workload.spec!.template!.metadata.labels),
      );
      expect(covered).toHaveLength(1);
    }
    const budgeted = KME_APPS.filter((name) =>
      ofKind('PodDisruptionBudget').some((budget) =>
        matches(
          budget.spec!.selector!.matchLabels,
          named('Deployment', name).spec!.template!.metadata.labels,
        ),
      ),
    );
    expect(budgeted).toEqual(KME_APPS);
  });

  it('leaves the replicas of a Deployment an HPA scales to the HPA, and runs two ttl-reapers', () => {
    // A count in the manifest would reset the HPA's on every apply, and undo a runbook's scale to zero.
    const scaled = ofKind('HorizontalPodAutoscaler').map((hpa) => hpa.spec!.scaleTargetRef!.name);
    expect(scaled.sort()).toEqual(['api-gateway', 'key-generator', 'replication']);
    for (const name of scaled) {
      expect({ name, replicas: named('Deployment', name).spec!.replicas }).toEqual({
        name,
        replicas: undefined,
      });
    }
    expect(named('Deployment', 'ttl-reaper').spec!.replicas).toBe(2);
  });

  it('gives every KME app the tuning ConfigMap, empty by default, and a start-up of 5 minutes', () => {
    const tuning = ofKind('ConfigMap').find((each) => each.metadata.name.startsWith('dqkd-tuning-'));
    expect(tuning?.data ?? {}).toEqual({});
    for (const name of KME_APPS) {
      const app = container(named('Deployment', name));
      expect({ name, envFrom: app.envFrom }).toEqual({
        name,
        envFrom: [{ configMapRef: { name: tuning!.metadata.name } }],
      });
      const probe = app.startupProbe!;
      expect(probe.httpGet).toEqual({ path: '/health/live', port: 'health' });
      // Start-up runs the ledger migrations before the health port opens.
      expect(probe.periodSeconds * probe.failureThreshold).toBeGreaterThanOrEqual(300);
    }
    for (const name of deployments.filter((each) => !KME_APPS.includes(each))) {
      expect(container(named('Deployment', name)).envFrom).toBeUndefined();
    }
  });

  const entropyServers = deployments.filter((name) => name.startsWith('entropy-'));
  /** The port of an entropy server's URL in the network file the overlay ships. */
  const entropyPort = (id: string): number => {
    const network = parse(
      ofKind('ConfigMap').find((each) => each.metadata.name.startsWith('dqkd-network-'))!.data![
        'network.yaml'
      ]!,
    ) as { entropy_servers: { id: string; url: string }[] };
    return Number(new URL(network.entropy_servers.find((server) => server.id === id)!.url).port);
  };
  (entropyServers.length > 0 ? it : it.skip)(
    'runs each entropy server as one pod with its own ID, port and keys',
    () => {
      for (const id of entropyServers) {
        const workload = named('Deployment', id);
        const port = entropyPort(id);
        expect(envValue(workload, 'ENTROPY_SERVER_ID')).toBe(id);
        expect(envValue(workload, 'DQKD_API_PORT')).toBe(String(port));
        expect(container(workload).ports).toContainEqual({
          name: 'entropy-api',
          containerPort: port,
          protocol: 'TCP',
        });
        expect((workload.spec as { replicas?: number }).replicas).toBe(1);
        const secrets = podSpec(workload).volumes!.flatMap(
          (volume) => volume.projected?.sources.map((source) => source.secret.name) ?? [],
        );
        expect(secrets.sort()).toEqual([`${id}-sealing`, `${id}-tls`]);
      }
    },
  );

  (entropyServers.length > 0 ? it : it.skip)(
    'exposes each entropy server to the other region on its own port, and never runs two on one node',
    () => {
      for (const id of entropyServers) {
        const workload = named('Deployment', id);
        const port = entropyPort(id);
        const external = ofKind('Service').filter(
          (service) =>
            (service.spec as { type?: string }).type === 'LoadBalancer' &&
            matches(service.spec!.selector, workload.spec!.template!.metadata.labels),
        );
        expect(external.map((service) => service.spec!.ports!.map((each) => each.port))).toEqual([[port]]);
        const affinity = (podSpec(workload) as { affinity?: unknown }).affinity as {
          podAntiAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              topologyKey: string;
              labelSelector: { matchLabels: Labels };
            }[];
          };
        };
        const [rule] = affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution;
        expect(rule!.topologyKey).toBe('kubernetes.io/hostname');
        for (const other of entropyServers) {
          expect(
            matches(
              rule!.labelSelector.matchLabels,
              named('Deployment', other).spec!.template!.metadata.labels,
            ),
          ).toBe(true);
        }
      }
    },
  );

  it('has a ServiceMonitor scraping /metrics on the health port of every app', () => {
    for (const workload of ofKind('Deployment')) {
      const podLabels = workload.spec!.template!.metadata.labels;
      const services = ofKind('Service').filter((service) => matches(service.spec!.selector, podLabels));
      const monitor = ofKind('ServiceMonitor').find((each) =>
        services.some((service) => matches(each.spec!.selector!.matchLabels, service.metadata.labels)),
      );
      expect({ app: workload.metadata.name, endpoints: monitor?.spec!.endpoints }).toEqual({
        app: workload.metadata.name,
        endpoints: [expect.objectContaining({ port: 'health', path: '/metrics' })],
      });
    }
  });

  it("lets monitoring scrape every app's pods, under the job the alerts and the dashboard name it", () => {
    const scrapes = named('NetworkPolicy', 'metrics-from-monitoring');
    // DqkdProcessDown's up{job=~"…"}: a target under any other job is never found down.
    const alerts = readFileSync(path.join(WORKSPACE, 'deploy/prometheus/alerts.yml'), 'utf8');
    const jobs = /up\{job=~"([^"]+)"\}/.exec(alerts)![1]!.split('|');
    for (const workload of ofKind('Deployment')) {
      const podLabels = workload.spec!.template!.metadata.labels;
      expect({
        app: workload.metadata.name,
        admitted: matches(scrapes.spec!.podSelector!.matchLabels, podLabels),
      }).toEqual({ app: workload.metadata.name, admitted: true });
      const service = ofKind('Service').find((each) => matches(each.spec!.selector, podLabels))!;
      const monitor = ofKind('ServiceMonitor').find((each) =>
        matches(each.spec!.selector!.matchLabels, service.metadata.labels),
      )!;
      const jobLabel = (monitor.spec as { jobLabel?: string }).jobLabel;
      const job = jobLabel === undefined ? service.metadata.name : service.metadata.labels![jobLabel];
      expect({ app: workload.metadata.name, job: jobs.includes(job!) }).toEqual({
        app: workload.metadata.name,
        job: true,
      });
    }
  });

  it('ships the Grafana dashboard as a ConfigMap for the dashboard sidecar', () => {
    const dashboard = ofKind('ConfigMap').find((each) => each.metadata.labels?.['grafana_dashboard'] === '1');
    expect(dashboard?.data?.['dqkd.json']).toBe(
      readFileSync(path.join(WORKSPACE, 'deploy/grafana/dqkd.json'), 'utf8'),
    );
  });

  it('lets only the api-gateway take connections from anywhere, on 8443 (and the NATS hub its leaf port)', () => {
    const open = ofKind('NetworkPolicy').flatMap((policy) =>
      (policy.spec!.ingress ?? [])
        .filter((rule) => rule.from === undefined)
        .map((rule) => ({
          pods: policy.spec!.podSelector!.matchLabels?.['app.kubernetes.io/name'],
          ports: rule.ports?.map((port) => port.port),
        })),
    );
    expect(open).toEqual(expect.arrayContaining([{ pods: 'api-gateway', ports: [8443] }]));
    expect(open.filter((rule) => rule.pods !== 'api-gateway')).toEqual([{ pods: 'nats', ports: [7422] }]);
    expect(named('NetworkPolicy', 'default-deny').spec!.podSelector).toEqual({});
  });

  it('holds only placeholders in its Secrets, never a real-looking key', () => {
    for (const secret of ofKind('Secret')) {
      const values = Object.entries(secret.stringData ?? {}).concat(
        Object.entries(secret.data ?? {}).map(([key, value]) => [
          key,
          Buffer.from(value, 'base64').toString(),
        ]),
      );
      expect(values.length).toBeGreaterThan(0);
      for (const [key, value] of values) {
        const placeholder = value.includes('REPLACE-ME');
        const userName = /^[a-z][a-z0-9-]{0,31}$/.test(value) && /USER$/.test(key);
        expect({ secret: secret.metadata.name, key, placeholder: placeholder || userName }).toEqual({
          secret: secret.metadata.name,
          key,
          placeholder: true,
        });
        expect(value).not.toMatch(/-----BEGIN|[A-Za-z0-9+/]{40,}={0,2}/);
      }
    }
  });

  it("stops a process started with its example Secret's service URLs, naming the placeholder", () => {
    const services = ofKind('Secret').find((secret) => secret.metadata.name.startsWith('dqkd-site-services'));
    const { DATABASE_URL, NATS_URL } = services!.stringData!;
    const checked = spawnSync(
      process.execPath,
      [path.join(WORKSPACE, 'libs/config/dist/cli/check-config.js')],
      {
        cwd: WORKSPACE,
        encoding: 'utf8',
        env: {
          PATH: process.env['PATH'],
          KME_ID: kmeId,
          DQKD_NETWORK_FILE: 'config/network.example.yaml',
          DQKD_KEK: `1:${Buffer.alloc(32, 1).toString('base64')}`,
          DATABASE_URL,
          NATS_URL,
        },
      },
    );
    expect(checked.stderr).toContain(
      "DATABASE_URL: carries the example's placeholder REPLACE-ME as a credential: set the real one",
    );
    expect(checked.stderr).toContain(
      "NATS_URL: carries the example's placeholder REPLACE-ME as a credential: set the real one",
    );
    expect(checked.stderr).not.toContain('postgres.example.internal');
    expect(checked.status).toBe(78);
  });
});

describeWithKubectl('the Kubernetes overlays together', () => {
  it('carry the same network file and alert rules to every region', () => {
    const shared = (region: string) => {
      const resources = render(region);
      const network = resources.find(
        (each) => each.kind === 'ConfigMap' && each.metadata.name.startsWith('dqkd-network-'),
      );
      const rules = resources.find((each) => each.kind === 'PrometheusRule');
      return { network: network?.data, rules: rules?.spec?.groups };
    };
    const east = shared('east');
    expect(east.network?.['network.yaml']).toContain('kme-west');
    expect(shared('west')).toEqual(east);
  });

  it('give the PrometheusRule exactly the groups of deploy/prometheus/alerts.yml', () => {
    const rules = render('west').find((each) => each.kind === 'PrometheusRule');
    const alerts = parse(readFileSync(path.join(WORKSPACE, 'deploy/prometheus/alerts.yml'), 'utf8')) as {
      groups: unknown;
    };
    expect(rules?.spec?.groups).toEqual(alerts.groups);
  });
});
