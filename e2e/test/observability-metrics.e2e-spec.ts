import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

import { EtsiHttpError } from '@dqkd/client';
import { loadNetworkFile } from '@dqkd/config';
import {
  EmbeddedProcess,
  prepareHome,
  scrape,
  type EmbeddedPorts,
  type MetricsEndpoint,
  type Scrape,
  saeClient,
  saeTls,
} from '@dqkd/embedded/dist/observe';

import { DQKD_METRICS, METRICS_BY_APP } from './support/dqkd-metrics';

const EAST_TO_WEST = 'kme-east->kme-west';
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;
// Base64 of 8 bytes or more with upper and lower case and a digit or symbol, as random key material is (words
// like "incremental" are base64 too, but nothing random).
const isBase64Blob = (value: string) =>
  /^[A-Za-z0-9+/]{11,}={0,2}$/.test(value) &&
  /[A-Z]/.test(value) &&
  /[a-z]/.test(value) &&
  /[0-9+/]/.test(value);

const hasPromtool = spawnSync('promtool', ['--version']).status === 0;
if (!hasPromtool) console.warn('promtool is not installed: skipping promtool check metrics');
const withPromtool = hasPromtool ? it : it.skip;

interface AppScrape {
  readonly endpoint: MetricsEndpoint;
  readonly text: string;
  readonly scrape: Scrape;
}

/**
 * The embedded default (`npm start`) with every app's metrics, driven through the ETSI API with the SAEs'
 * client certificates, then scraped: each metric the dashboard and the alerts use is there, counts what the
 * test did, and carries no key ID or key material.
 */
describe('metrics of the embedded network', () => {
  let home: string;
  let ports: EmbeddedPorts;
  let network: EmbeddedProcess;
  let before: AppScrape[];
  let after: AppScrape[];
  const received: { keyIds: string[]; keys: string[] } = { keyIds: [], keys: [] };
  let storedKeyCount: number;
  let requestId: string | undefined;

  const client = (sae: string, port: number) => saeClient(home, sae, port);

  const scrapeAll = () =>
    Promise.all(
      network.metricsEndpoints().map(async (endpoint) => ({ endpoint, ...(await scrape(endpoint.url)) })),
    );
  const of = (scrapes: AppScrape[], app: string, owner: string): Scrape => {
    const found = scrapes.find((each) => each.endpoint.app === app && each.endpoint.owner === owner);
    if (!found) throw new Error(`no metrics of ${app} ${owner}`);
    return found.scrape;
  };
  const delta = (app: string, owner: string, name: string, labels: Record<string, string> = {}) =>
    of(after, app, owner).sum(name, labels) - of(before, app, owner).sum(name, labels);

  beforeAll(async () => {
    home = mkdtempSync(path.join(tmpdir(), 'dqkd-metrics-'));
    ports = await prepareHome(home);
    network = new EmbeddedProcess(home, ports.health, { LOG_LEVEL: 'info' });
    await network.running();
    before = await scrapeAll();

    const alice = client('sae-alice', ports.east);
    const bob = client('sae-bob', ports.west);
    try {
      const sent = await alice.encKeys('sae-bob', { number: 3 });
      received.keyIds.push(...sent.keys.map((key) => key.key_ID));
      received.keys.push(...sent.keys.map((key) => key.key));
      const fetched = await bob.decKeys('sae-alice', received.keyIds);
      expect(fetched.keys.map((key) => key.key)).toEqual(received.keys);
      // One answer the spec calls bad: a key ID nobody issued.
      await expect(bob.decKeys('sae-alice', [randomUUID()])).rejects.toThrow(EtsiHttpError);
      storedKeyCount = (await alice.status('sae-bob')).stored_key_count;
    } finally {
      alice.close();
      bob.close();
    }
    requestId = await statusRequestId();
    after = await scrapeAll();
  }, 180_000);

  afterAll(async () => {
    if (network) expect(await network.stop('SIGTERM')).toBe(0);
    rmSync(home, { recursive: true, force: true });
  });

  /** The X-Request-Id of a status request sent with Alice's certificate (the typed client hides headers). */
  function statusRequestId(): Promise<string | undefined> {
    return new Promise((resolve, reject) => {
      https
        .get(
          `https://127.0.0.1:${ports.east}/api/v1/keys/sae-bob/status`,
          saeTls(home, 'sae-alice'),
          (response) => {
            response.resume();
            resolve(response.headers['x-request-id'] as string | undefined);
          },
        )
        .on('error', reject);
    });
  }

  it('serves every metric of the dashboard and the alerts, each app its own, with default process metrics', () => {
    for (const { endpoint, scrape: metrics } of after) {
      const expected = METRICS_BY_APP[endpoint.app] ?? [];
      expect({ app: endpoint.app, missing: expected.filter((name) => !metrics.has(name)) }).toEqual({
        app: endpoint.app,
        missing: [],
      });
      // Another app's domain metrics are not there: one registry per app, though one process.
      const foreign = DQKD_METRICS.filter((name) => !expected.includes(name) && metrics.has(name));
      expect({ app: endpoint.app, foreign }).toEqual({ app: endpoint.app, foreign: [] });
      expect(metrics.has('dqkd_process_cpu_user_seconds_total')).toBe(true);
    }
    expect(after).toHaveLength(11);
  });

  it('counts the keys the test received as issued on the link and delivered to master and slave', () => {
    expect(delta('api-gateway', 'kme-east', 'dqkd_keys_issued_total', { link: EAST_TO_WEST })).toBe(3);
    expect(
      delta('api-gateway', 'kme-east', 'dqkd_keys_delivered_total', { link: EAST_TO_WEST, role: 'master' }),
    ).toBe(3);
    expect(
      delta('api-gateway', 'kme-west', 'dqkd_keys_delivered_total', { link: EAST_TO_WEST, role: 'slave' }),
    ).toBe(3);
    expect(delta('api-gateway', 'kme-west', 'dqkd_keys_issued_total')).toBe(0);
  });

  it('counts and times ETSI answers by route and status, and returns a request ID', () => {
    expect(
      delta('api-gateway', 'kme-east', 'dqkd_etsi_responses_total', { route: 'enc_keys', status: '200' }),
    ).toBe(1);
    expect(
      delta('api-gateway', 'kme-east', 'dqkd_etsi_responses_total', { route: 'status', status: '200' }),
    ).toBe(2);
    expect(
      delta('api-gateway', 'kme-west', 'dqkd_etsi_responses_total', { route: 'dec_keys', status: '200' }),
    ).toBe(1);
    expect(
      delta('api-gateway', 'kme-west', 'dqkd_etsi_responses_total', { route: 'dec_keys', status: '400' }),
    ).toBe(1);
    expect(
      delta('api-gateway', 'kme-west', 'dqkd_etsi_request_duration_seconds_count', { route: 'dec_keys' }),
    ).toBe(2);
    const encSeconds = delta('api-gateway', 'kme-east', 'dqkd_etsi_request_duration_seconds_sum', {
      route: 'enc_keys',
    });
    expect(encSeconds).toBeGreaterThan(0);
    expect(encSeconds).toBeLessThan(10);
    expect(requestId).toMatch(UUID);
  });

  it("shows each link's pool as status does: ready keys are the ready bytes in keys of the default size", () => {
    const network = loadNetworkFile(path.join(home, 'network.yaml'));
    for (const site of ['kme-east', 'kme-west']) {
      for (const link of network.linksFrom(site)) {
        const label = { link: `${link.source}->${link.target}` };
        const generator = of(after, 'key-generator', site);
        const bits = generator.sum('dqkd_pool_ready_bytes', label) * 8;
        const keys = generator.sum('dqkd_pool_ready_keys', label);
        expect({ label, keys }).toEqual({
          label,
          keys: Math.min(link.limits.maxKeyCount, Math.floor(bits / link.limits.keySize)),
        });
        expect(generator.sum('dqkd_pool_low_watermark_bytes', label)).toBe(link.limits.lowWatermarkBits / 8);
        expect(bits).toBeGreaterThan(0);
      }
    }
    // Status came between the two scrapes; the pool only moved by refills in between.
    const readyKeys = [before, after].map((scrapes) =>
      of(scrapes, 'key-generator', 'kme-east').sum('dqkd_pool_ready_keys', { link: EAST_TO_WEST }),
    );
    expect(storedKeyCount).toBeGreaterThanOrEqual(Math.min(...readyKeys) - 3);
    expect(storedKeyCount).toBeLessThanOrEqual(Math.max(...readyKeys));
  });

  it('counts blocks generated at the source and regenerated at the target, with their durations and lag', () => {
    for (const [source, target] of [
      ['kme-east', 'kme-west'],
      ['kme-west', 'kme-east'],
    ] as const) {
      const generator = of(after, 'key-generator', source);
      const generated = generator.sum('dqkd_blocks_generated_total');
      expect(generated).toBeGreaterThan(0);
      expect(generator.sum('dqkd_blast_generation_duration_seconds_count')).toBeGreaterThanOrEqual(generated);
      const replication = of(after, 'replication', target);
      const regenerated = replication.sum('dqkd_blocks_regenerated_total');
      expect(regenerated).toBeGreaterThan(0);
      expect(regenerated).toBeLessThanOrEqual(generated);
      // Every block stored here was observed once. The first fill sends a burst of blocks that the target
      // regenerates a few at a time, so lags of seconds are real here; on one machine all are under a minute.
      const lag = { kind: 'metadata' };
      const lagCount = replication.sum('dqkd_replication_lag_seconds_count', lag);
      expect(lagCount).toBe(regenerated);
      expect(replication.sum('dqkd_replication_lag_seconds_bucket', { ...lag, le: '60' })).toBe(lagCount);
      expect(replication.sum('dqkd_replication_lag_seconds_sum', lag)).toBeGreaterThan(0);
      expect(generator.sum('dqkd_blocks_burned_total')).toBe(0);
    }
  });

  it('observes the lag of every key assignment applied at the target, within a few seconds here', () => {
    const replication = of(after, 'replication', 'kme-west');
    const applied = replication.sum('dqkd_replication_assignments_applied_total');
    expect(applied).toBeGreaterThan(0);
    const lag = { kind: 'assignment' };
    expect(replication.sum('dqkd_replication_lag_seconds_count', lag)).toBe(applied);
    expect(replication.sum('dqkd_replication_lag_seconds_bucket', { ...lag, le: '5' })).toBe(applied);
  });

  it('estimates the clock skew between the sites, on one machine close to zero', () => {
    const skew = of(after, 'replication', 'kme-west').select('dqkd_peer_clock_skew_seconds', {
      peer: 'kme-east',
    });
    expect(skew).toHaveLength(1);
    expect(Math.abs(skew[0]!.value)).toBeLessThan(1);
    expect(of(after, 'replication', 'kme-west').has('dqkd_messages_redelivered_total')).toBe(true);
  });

  it("shows the bytes of reservation bits the target holds for later assignments, none at the source's", () => {
    // The three keys took a few hundred bits of a lease's reservation; the target holds the rest for the
    // assignments that would follow, bounded by its 4 MiB limit.
    const held = of(after, 'replication', 'kme-west').sum('dqkd_held_reservation_bytes');
    expect(held).toBeGreaterThan((3 * 256) / 8);
    expect(held).toBeLessThanOrEqual(4 << 20);
    expect(of(after, 'replication', 'kme-east').sum('dqkd_held_reservation_bytes')).toBe(0);
  });

  it('counts entropy-server leases and reads, and gives each server its own series', () => {
    for (const server of ['entropy-1', 'entropy-2', 'entropy-3']) {
      const metrics = of(after, 'entropy-server', server);
      expect(metrics.sum('dqkd_entropy_leases_total', { server })).toBeGreaterThan(0);
      expect(metrics.sum('dqkd_entropy_reads_total', { server })).toBeGreaterThan(0);
      expect(metrics.sum('dqkd_entropy_pool_available_bytes', { server })).toBeGreaterThan(0);
    }
  });

  it('reports the end of validity of the API certificate and of the SAE CA, in the future', () => {
    const certificates = of(after, 'api-gateway', 'kme-east').select(
      'dqkd_certificate_not_after_timestamp_seconds',
    );
    expect(certificates.map((sample) => sample.labels['certificate']).sort()).toEqual([
      'api-server',
      'sae-ca',
    ]);
    for (const { value } of certificates) expect(value).toBeGreaterThan(Date.now() / 1000 + 86_400);
  });

  it('labels no series with a key ID or a key, and shows neither anywhere', () => {
    expect(received.keyIds).toHaveLength(3);
    for (const { endpoint, text, scrape: metrics } of after) {
      const suspicious = metrics.samples.flatMap((sample) =>
        Object.values(sample.labels).filter((value) => UUID.test(value) || isBase64Blob(value)),
      );
      expect({ app: endpoint.url, suspicious }).toEqual({ app: endpoint.url, suspicious: [] });
      for (const secret of [...received.keyIds, ...received.keys]) expect(text).not.toContain(secret);
    }
  });

  it('logs JSON lines naming the app, KME, request ID and SAE of each ETSI request, and no key', () => {
    const lines = network.output
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.length).toBeGreaterThan(10);
    expect(lines.find((line) => line['request_id'] === requestId)).toMatchObject({
      level: 'info',
      app: 'api-gateway',
      kme: 'kme-east',
      sae: 'sae-alice',
      route: 'status',
      status: 200,
    });
    expect(lines.filter((line) => line['app'] === 'replication' && line['kme'] === 'kme-west')).not.toEqual(
      [],
    );
    for (const key of received.keys) expect(network.output).not.toContain(key);
  });

  withPromtool('passes promtool check metrics, app by app', () => {
    for (const { endpoint, text } of after) {
      const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
      expect({ app: endpoint.url, status: check.status, problems: check.stdout + check.stderr }).toEqual({
        app: endpoint.url,
        status: 0,
        problems: '',
      });
    }
  });
});
