import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';

import { certificateIdentity, ensureDevPki, readMutualTlsServerOptions, readTlsOptions } from '@dqkd/pki';

import { EtsiClient, EtsiClientError, EtsiHttpError } from '../src';
import { STATUS } from './status-fixture';

interface Seen {
  readonly method?: string;
  readonly url?: string;
  readonly contentType?: string;
  readonly body: string;
  readonly caller?: string;
  readonly connection: number;
}

interface Canned {
  readonly status: number;
  readonly body: string;
}

const KEY_ID = 'bc490419-7d60-487f-adc1-4ddcc177c139';
const CONTAINER = {
  keys: [{ key_ID: KEY_ID, key: 'q83vEjRWeJA=', key_extension: { dqkd_expires_at: 'x' } }],
};

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => {
      throw new Error(`expected a rejection, got ${JSON.stringify(value)}`);
    },
    (error: unknown) => error,
  );
}

describe('EtsiClient against a mutual-TLS KME', () => {
  let root: string;
  let pki: string;
  let server: https.Server;
  let baseUrl: string;
  let ca: string;
  let pemClient: EtsiClient;
  const seen: Seen[] = [];
  let canned: Canned = { status: 200, body: '{}' };
  let connections = 0;

  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'dqkd-client-e2e-'));
    pki = path.join(root, 'pki');
    await ensureDevPki({ dir: pki, kmes: ['kme-east'], saes: ['sae-alice'], entropyServers: [] });
    server = https.createServer(await readMutualTlsServerOptions(pki, 'kme-east'), (req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (body += chunk));
      req.on('end', () => {
        const socket = req.socket as TLSSocket & { connectionNumber?: number };
        seen.push({
          method: req.method,
          url: req.url,
          contentType: req.headers['content-type'],
          body,
          caller: socket.authorized ? certificateIdentity(socket.getPeerCertificate()) : undefined,
          connection: socket.connectionNumber ?? 0,
        });
        if (req.url?.startsWith('/slow/')) return; // never answers: the client's timeout must end it
        res.writeHead(canned.status, { 'content-type': 'application/json' });
        res.end(canned.body);
      });
    });
    server.on('secureConnection', (socket: TLSSocket & { connectionNumber?: number }) => {
      socket.connectionNumber = ++connections;
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    baseUrl = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const tls = await readTlsOptions(pki, 'sae-alice');
    ca = tls.ca;
    pemClient = new EtsiClient({ baseUrl, cert: tls.cert, key: tls.key, ca });
  });

  afterAll(async () => {
    pemClient?.close();
    server?.closeAllConnections();
    if (server) await new Promise((resolve) => server.close(resolve));
    await rm(root, { recursive: true, force: true });
  });

  /** A client presenting sae-alice's PKCS#12 file, opened with `passphrase`. */
  const p12Client = async (passphrase: string) =>
    new EtsiClient({ baseUrl, pfx: await readFile(path.join(pki, 'sae-alice.p12')), passphrase, ca });

  /** The client's request fails as a connection error before the KME sees it; the client is closed. */
  async function refusedToConnect(client: EtsiClient): Promise<void> {
    try {
      const error = await rejection(client.status('sae-bob'));
      expect(error).toBeInstanceOf(EtsiClientError);
      expect(error).toMatchObject({ code: 'connection' });
      expect(seen).toEqual([]);
    } finally {
      client.close();
    }
  }

  beforeEach(() => {
    seen.length = 0;
    canned = { status: 200, body: JSON.stringify(CONTAINER) };
  });

  describe('status', () => {
    it('GETs the status route of the URL-encoded slave and presents the SAE certificate', async () => {
      canned = { status: 200, body: JSON.stringify(STATUS) };
      await expect(pemClient.status('sae bob/west')).resolves.toEqual(STATUS);
      expect(seen).toEqual([
        expect.objectContaining({
          method: 'GET',
          url: '/api/v1/keys/sae%20bob%2Fwest/status',
          caller: 'sae-alice',
        }),
      ]);
    });
  });

  describe('enc_keys', () => {
    it('POSTs the whole request as JSON and returns the key container', async () => {
      const request = {
        number: 2,
        size: 512,
        additional_slave_SAE_IDs: ['sae-carol'],
        extension_mandatory: [{ dqkd_ttl: 600 }],
      };
      await expect(pemClient.encKeys('sae-bob', request)).resolves.toEqual(CONTAINER);
      expect(seen).toHaveLength(1);
      expect(seen[0]).toMatchObject({
        method: 'POST',
        url: '/api/v1/keys/sae-bob/enc_keys',
        contentType: 'application/json',
        caller: 'sae-alice',
      });
      expect(JSON.parse(seen[0]?.body ?? '')).toEqual(request);
    });

    it('POSTs {} when no request is given', async () => {
      await pemClient.encKeys('sae-bob');
      expect(seen[0]).toMatchObject({ method: 'POST', body: '{}' });
    });

    it('GETs with number and size in the query when asked', async () => {
      await expect(
        pemClient.encKeys('sae-bob', { number: 3, size: 1024 }, { method: 'GET' }),
      ).resolves.toEqual(CONTAINER);
      expect(seen[0]).toMatchObject({
        method: 'GET',
        url: '/api/v1/keys/sae-bob/enc_keys?number=3&size=1024',
        body: '',
      });
    });

    it('sends nothing when a GET would drop members of the request', async () => {
      const request = { number: 1, extension_optional: [{ dqkd_ttl: 60 }] };
      const error = await rejection(
        pemClient.encKeys('sae-bob', request as { number: number }, { method: 'GET' }),
      );
      expect(error).toBeInstanceOf(EtsiClientError);
      expect(error).toMatchObject({ code: 'invalid-request' });
      expect(seen).toEqual([]);
    });
  });

  describe('dec_keys', () => {
    it('POSTs the key IDs, even for one key', async () => {
      await expect(pemClient.decKeys('sae-alice', [KEY_ID])).resolves.toEqual(CONTAINER);
      expect(seen[0]).toMatchObject({
        method: 'POST',
        url: '/api/v1/keys/sae-alice/dec_keys',
        caller: 'sae-alice',
      });
      expect(JSON.parse(seen[0]?.body ?? '')).toEqual({ key_IDs: [{ key_ID: KEY_ID }] });
    });

    it('GETs one key by key_ID when asked', async () => {
      await pemClient.decKeys('sae alice', [KEY_ID], { method: 'GET' });
      expect(seen[0]).toMatchObject({
        method: 'GET',
        url: `/api/v1/keys/sae%20alice/dec_keys?key_ID=${KEY_ID}`,
      });
    });
  });

  describe('errors', () => {
    it.each([
      [400, { message: 'size shall be a multiple of 8' }],
      [
        400,
        {
          message: 'not all extension_mandatory parameters are supported',
          details: [{ extension_mandatory_unsupported: 'abc_route_type is not supported' }],
        },
      ],
      [401, { message: 'the caller is not a slave SAE of every key requested' }],
      [503, { message: 'not enough key material is ready on this link; retry later' }],
    ])('rejects a %i answer with an EtsiHttpError carrying its Error body', async (status, body) => {
      canned = { status, body: JSON.stringify(body) };
      const error = await rejection(pemClient.encKeys('sae-bob', { size: 100 }));
      expect(error).toBeInstanceOf(EtsiHttpError);
      expect(error).toMatchObject({ status, body, method: 'POST', path: '/api/v1/keys/sae-bob/enc_keys' });
    });

    it('rejects a non-ETSI error page with an EtsiHttpError all the same', async () => {
      canned = { status: 502, body: '<html>bad gateway</html>' };
      const error = await rejection(pemClient.status('sae-bob'));
      expect(error).toBeInstanceOf(EtsiHttpError);
      expect(error).toMatchObject({ status: 502, body: { message: 'HTTP 502 without an ETSI Error body' } });
    });

    it('rejects a 200 that is not a key container', async () => {
      canned = { status: 200, body: '{"keys":"none"}' };
      await expect(rejection(pemClient.decKeys('sae-alice', [KEY_ID]))).resolves.toMatchObject({
        code: 'invalid-response',
      });
    });

    it('rejects with a timeout when the KME does not answer in time', async () => {
      const tls = await readTlsOptions(pki, 'sae-alice');
      const client = new EtsiClient({ baseUrl: `${baseUrl}/slow`, ...tls, timeoutMs: 300 });
      try {
        const started = Date.now();
        const error = await rejection(client.status('sae-bob'));
        expect(error).toBeInstanceOf(EtsiClientError);
        expect(error).toMatchObject({ code: 'timeout' });
        expect(Date.now() - started).toBeLessThan(5000);
        expect(seen[0]?.url).toBe('/slow/api/v1/keys/sae-bob/status');
      } finally {
        client.close();
      }
    });

    it('refuses a KME whose certificate its CA did not issue', async () => {
      const tls = await readTlsOptions(pki, 'sae-alice');
      // The SAE's own certificate as the only trusted root: the KME's certificate cannot verify.
      await refusedToConnect(new EtsiClient({ baseUrl, cert: tls.cert, key: tls.key, ca: tls.cert }));
    });

    it('refuses a KME whose certificate, issued by its CA for the host, names another KME than the one it expects', async () => {
      const tls = await readTlsOptions(pki, 'sae-alice');
      const expecting = (kmeId: string) =>
        new EtsiClient({ baseUrl, cert: tls.cert, key: tls.key, ca, kmeId });
      // The server's certificate is kme-east's: another KME's (or an entropy server's) passes the host check too.
      await refusedToConnect(expecting('kme-west'));
      const right = expecting('kme-east');
      try {
        canned = { status: 200, body: JSON.stringify(STATUS) };
        await expect(right.status('sae-bob')).resolves.toMatchObject({ source_KME_ID: 'kme-east' });
      } finally {
        right.close();
      }
    });

    it('rejects with a connection error when its PKCS#12 file does not open with the passphrase', async () => {
      await refusedToConnect(await p12Client('not the passphrase'));
    });

    it('refuses a baseUrl that is not https', () => {
      expect(() => new EtsiClient({ baseUrl: 'http://127.0.0.1:1', cert: '', key: '', ca })).toThrow(
        EtsiClientError,
      );
    });
  });

  describe('connections', () => {
    it('keeps one TLS connection alive across requests', async () => {
      canned = { status: 200, body: JSON.stringify(STATUS) };
      await pemClient.status('sae-bob');
      await pemClient.status('sae-bob');
      await pemClient.status('sae-bob');
      expect(seen.map((request) => request.connection)).toHaveLength(3);
      expect(new Set(seen.map((request) => request.connection)).size).toBe(1);
    });

    it('presents the SAE certificate from a PKCS#12 file', async () => {
      const client = await p12Client('');
      try {
        await expect(client.decKeys('sae-alice', [KEY_ID])).resolves.toEqual(CONTAINER);
        expect(seen[0]?.caller).toBe('sae-alice');
      } finally {
        client.close();
      }
    });
  });
});
