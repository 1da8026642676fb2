import 'reflect-metadata';

import { randomBytes, X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';

import {
  createEntropySources,
  EntropyServerMisidentified,
  RemoteEntropySource,
  SampleRefused,
  type KmeEntropyCredentials,
} from '@dqkd/entropy';
import { HANDSHAKE_TIMEOUT_MS, readTlsOptions } from '@dqkd/pki';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';

import { EntropyNetwork } from '../../../libs/entropy/test/entropy-network';
import {
  ACCEPTED_TLS12_SUITE,
  closedWhenSilent,
  handshake,
  REFUSED_TLS12_SUITES,
} from '../../../libs/pki/test/tls-policy';
import { EntropyApiServer } from '../src/app/api/entropy-api.server';
import { AppModule } from '../src/app/app.module';
import { loadEntropyServerSetup } from '../src/app/entropy-server-setup';

const LINK = ['kme-east', 'kme-west'];

async function refusalOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof SampleRefused) return error.reason;
    throw error;
  }
  throw new Error('expected a refusal');
}

/** A raw HTTPS POST with any client certificate of the PKI, to see exactly what goes over the wire. */
async function post(url: string, tls: { key: string; cert: string; ca: string }, path: string, body: string) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const outgoing = request(new URL(path, url), { method: 'POST', ...tls, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString() }),
      );
    });
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

function metric(text: string, series: string): number {
  const line = text.split('\n').find((each) => each.startsWith(`${series} `));
  return line === undefined ? NaN : Number(line.slice(series.length + 1));
}

describe('the entropy API', () => {
  let network: EntropyNetwork;
  let app: INestApplication;
  let apiUrl: string;
  let sources: Record<string, RemoteEntropySource>;
  let credentials: Record<string, KmeEntropyCredentials>;

  const scrape = async () => (await fetch(`${await app.getUrl()}/metrics`)).text();

  beforeAll(async () => {
    network = await EntropyNetwork.create({ saes: ['sae-alice'] });
    const setup = loadEntropyServerSetup(
      network.serverEnv('entropy-1', {
        DQKD_API_PORT: '0',
        ENTROPY_POOL_BYTES: '65536',
        ENTROPY_POOLS_READY: '1',
      }),
      network.dir,
    );
    app = await NestFactory.create(AppModule.register(setup), { logger: false });
    await app.listen(0, '127.0.0.1');
    apiUrl = app.get(EntropyApiServer).url!;
    const server = { ...network.network.entropyServers[0], url: apiUrl };
    credentials = {};
    sources = {};
    for (const kmeId of ['kme-east', 'kme-west', 'kme-north']) {
      credentials[kmeId] = await network.credentials(kmeId);
      sources[kmeId] = new RemoteEntropySource({ server, ...credentials[kmeId] });
    }
  });

  afterAll(async () => {
    Object.values(sources ?? {}).forEach((source) => source.close());
    await app?.close();
    network?.remove();
  });

  it('counts leases, reads and refusals by reason, and the bytes still available', async () => {
    const before = await scrape();
    const { ref } = await sources['kme-east'].lease(1000, LINK, Date.now() + 60_000);
    await sources['kme-east'].lease(1000, LINK, Date.now() + 60_000);
    await sources['kme-west'].read(ref, 'kme-east');
    await refusalOf(sources['kme-west'].read(ref, 'kme-east'));
    await refusalOf(sources['kme-north'].read(ref, 'kme-east'));
    await refusalOf(sources['kme-west'].read({ ...ref, offset: ref.offset + 1 }, 'kme-east'));
    const after = await scrape();

    // Every series carries the server's ID, which says where it came from on a shared dashboard.
    const delta = (name: string, label = '') => {
      const series = `${name}{${label}${label ? ',' : ''}server="entropy-1"}`;
      return metric(after, series) - metric(before, series);
    };
    expect(delta('dqkd_entropy_leases_total')).toBe(2);
    expect(delta('dqkd_entropy_reads_total')).toBe(1);
    expect(delta('dqkd_entropy_refusals_total', 'reason="already-read"')).toBe(1);
    // kme-north, not a reader, hears "unknown", as for the offset that names no sample.
    expect(delta('dqkd_entropy_refusals_total', 'reason="not-yours"')).toBe(0);
    expect(delta('dqkd_entropy_refusals_total', 'reason="unknown"')).toBe(2);
    expect(delta('dqkd_entropy_refusals_total', 'reason="expired"')).toBe(0);
    expect(delta('dqkd_entropy_shredded_bytes_total')).toBe(1000);
    expect(delta('dqkd_entropy_pool_available_bytes')).toBe(-2000);
  });

  // The gateways export the same series: DqkdCertificateExpiresSoon watches the entropy servers' too.
  it('exports when its certificate and the CA of KME certificates expire', async () => {
    const text = await scrape();
    const notAfter = (file: string) =>
      Math.floor(Date.parse(new X509Certificate(readFileSync(join(network.pkiDir, file))).validTo) / 1000);
    const series = (certificate: string) =>
      `dqkd_certificate_not_after_timestamp_seconds{certificate="${certificate}",server="entropy-1"}`;
    expect(metric(text, series('entropy-server'))).toBe(notAfter('entropy-1.pem'));
    expect(metric(text, series('kme-ca'))).toBe(notAfter('ca.pem'));
  });

  it('seals every sample to the KME that asked: the bytes never appear in the answer', async () => {
    const leased = await sources['kme-east'].lease(32, LINK, Date.now() + 60_000);
    const tls = credentials['kme-west'].tls;
    const read = await post(
      apiUrl,
      tls,
      '/v1/reads',
      JSON.stringify({
        pool_id: leased.ref.poolId,
        offset: leased.ref.offset,
        length: 32,
        leased_by: 'kme-east',
      }),
    );
    const answer = JSON.parse(read.body) as { sample: string };
    expect(read.status).toBe(200);
    expect(Buffer.from(answer.sample, 'base64').includes(Buffer.from(leased.bytes))).toBe(false);
    expect(answer.sample.includes(Buffer.from(leased.bytes).toString('base64'))).toBe(false);
  });

  it('closes a connection that has not finished its handshake within HANDSHAKE_TIMEOUT_MS', async () => {
    // Before: Node's default kept it two minutes.
    const closed = await closedWhenSilent(Number(new URL(apiUrl).port), HANDSHAKE_TIMEOUT_MS + 5_000);
    expect(closed).toBeGreaterThanOrEqual(HANDSHAKE_TIMEOUT_MS - 500);
    expect(closed).toBeLessThan(HANDSHAKE_TIMEOUT_MS + 5_000);
  }, 30_000);

  it.each(REFUSED_TLS12_SUITES)('fails a TLS 1.2 handshake offering only %s', async (_why, suite) => {
    const port = Number(new URL(apiUrl).port);
    const east = credentials['kme-east']!.tls;
    expect(await handshake(port, east, { maxVersion: 'TLSv1.2', ciphers: suite })).toMatchObject({
      ok: false,
    });
    expect(
      await handshake(port, east, { maxVersion: 'TLSv1.2', ciphers: ACCEPTED_TLS12_SUITE }),
    ).toMatchObject({
      ok: true,
      protocol: 'TLSv1.2',
    });
  });

  it('refuses a client certificate that names no KME of the network', async () => {
    const tls = await readTlsOptions(network.pkiDir, 'sae-alice');
    const answer = await post(
      apiUrl,
      tls,
      '/v1/leases',
      JSON.stringify({ bytes: 64, readers: LINK, not_after: Date.now() + 1000 }),
    );
    expect({ status: answer.status, body: JSON.parse(answer.body) }).toEqual({
      status: 403,
      body: { error: 'not-a-kme', message: 'the client certificate does not name a KME of the network' },
    });
  });

  it('refuses malformed requests, readers outside the network, and a lease the caller is not a reader of', async () => {
    const tls = credentials['kme-east'].tls;
    const lease = (body: unknown) => post(apiUrl, tls, '/v1/leases', JSON.stringify(body));
    const future = Date.now() + 60_000;
    expect(JSON.parse((await post(apiUrl, tls, '/v1/leases', '{')).body)).toMatchObject({
      error: 'invalid-request',
    });
    expect(JSON.parse((await lease({ bytes: 64, readers: LINK, not_after: future, extra: 1 })).body)).toEqual(
      {
        error: 'invalid-request',
        message: 'unknown field "extra"',
      },
    );
    expect(
      JSON.parse((await lease({ bytes: 64, readers: ['kme-east', 'kme-mars'], not_after: future })).body),
    ).toEqual({
      error: 'invalid-request',
      message: 'reader "kme-mars" is not a KME',
    });
    expect(await refusalOf(sources['kme-north'].lease(64, LINK, future))).toBe('invalid-request');
  });

  it('refuses a lease larger than its pools as invalid, since no pool could ever serve it', async () => {
    expect(await refusalOf(sources['kme-east'].lease(70_000, LINK, Date.now() + 60_000))).toBe(
      'invalid-request',
    );
  });

  it('is refused by a KME when its certificate does not carry the CN the network file names', async () => {
    const impostor = { ...network.network.entropyServers[1], url: apiUrl };
    const source = new RemoteEntropySource({ server: impostor, ...credentials['kme-east'] });
    try {
      await expect(source.lease(64, LINK, Date.now() + 60_000)).rejects.toBeInstanceOf(
        EntropyServerMisidentified,
      );
    } finally {
      source.close();
    }
  });

  it('builds a KME its t sources from the network file', () => {
    const built = createEntropySources(network.network, credentials['kme-east']);
    expect(built.forGeneration.map((source) => source.serverId)).toEqual([
      'entropy-1',
      'entropy-2',
      'entropy-3',
    ]);
    built.close();
  });
});

interface OwnServer {
  network: EntropyNetwork;
  app: INestApplication;
  url: string;
  sources: Record<string, RemoteEntropySource>;
}

/**
 * An entropy-1 of a describe's own, with pools of 64 KiB and the settings `env` gives (it may write files into
 * the network's folder), and clients of kme-east and kme-west.
 */
function ownServer(env: (dir: string) => Record<string, string>): OwnServer {
  const own = {} as OwnServer;
  beforeAll(async () => {
    own.network = await EntropyNetwork.create({ saes: [] });
    const setup = loadEntropyServerSetup(
      own.network.serverEnv('entropy-1', {
        DQKD_API_PORT: '0',
        ENTROPY_POOL_BYTES: '65536',
        ...env(own.network.dir),
      }),
      own.network.dir,
    );
    own.app = await NestFactory.create(AppModule.register(setup), { logger: false });
    await own.app.listen(0, '127.0.0.1');
    own.url = own.app.get(EntropyApiServer).url!;
    const server = { ...own.network.network.entropyServers[0], url: own.url };
    own.sources = {};
    for (const kmeId of ['kme-east', 'kme-west']) {
      own.sources[kmeId] = new RemoteEntropySource({ server, ...(await own.network.credentials(kmeId)) });
    }
  });
  afterAll(async () => {
    Object.values(own.sources ?? {}).forEach((source) => source.close());
    await own.app?.close();
    own.network?.remove();
  });
  return own;
}

describe('an entropy server whose pools have no unleased bytes left', () => {
  // A device with one pool's worth of bytes: the first pool fills, and no other ever does.
  const own = ownServer((dir) => {
    const device = join(dir, 'one-pool.bin');
    writeFileSync(device, randomBytes(65536));
    return { ENTROPY_SOURCE: 'device', ENTROPY_DEVICE: device, ENTROPY_POOLS_READY: '1' };
  });

  // Out of its Service, its samples' second reads would fail, and their blocks burn.
  it('stays ready and still answers the second reads of its samples', async () => {
    const leased = await own.sources['kme-east'].lease(65536, LINK, Date.now() + 60_000);
    expect(await refusalOf(own.sources['kme-east'].lease(64, LINK, Date.now() + 60_000))).toBe('exhausted');
    const ready = await fetch(`${await own.app.getUrl()}/health/ready`);
    expect(ready.status).toBe(200);
    expect(Buffer.from(await own.sources['kme-west'].read(leased.ref, 'kme-east'))).toEqual(
      Buffer.from(leased.bytes),
    );
  });
});

describe('an entropy server that limits how fast each KME leases', () => {
  const own = ownServer(() => ({ ENTROPY_POOLS_READY: '2', ENTROPY_LEASE_RATE_BYTES: '4096' }));

  it('refuses a KME past its rate as rate-limited (HTTP 429), while another KME still leases', async () => {
    const scrape = async () => (await fetch(`${await own.app.getUrl()}/metrics`)).text();
    const before = await scrape();
    const deadline = () => Date.now() + 60_000;
    // Up to a pool's worth at once (64 KiB), then 4 KiB a second: the second lease would take 70000 bytes within
    // the test's few milliseconds. The first pool still has room for it, and serves another KME.
    await own.sources['kme-east'].lease(40000, LINK, deadline());
    const tls = (await own.network.credentials('kme-east')).tls;
    const body = JSON.stringify({ bytes: 30000, readers: LINK, not_after: deadline() });
    const refused = await post(own.url, tls, '/v1/leases', body);
    expect(refused.status).toBe(429);
    expect(JSON.parse(refused.body)).toEqual({
      error: 'rate-limited',
      message: expect.stringMatching(/^kme-east leases more than the 4096 bytes a second one KME may; /),
    });
    expect((await own.sources['kme-west'].lease(20000, LINK, deadline())).bytes).toHaveLength(20000);

    const series = 'dqkd_entropy_refusals_total{reason="rate-limited",server="entropy-1"}';
    expect(metric(await scrape(), series) - metric(before, series)).toBe(1);
  });
});
