import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';

import { certificateIdentity, ensureDevPki, readMutualTlsServerOptions, readTlsOptions } from '../src';
import { ACCEPTED_TLS12_SUITE, handshake, REFUSED_TLS12_SUITES } from './tls-policy';

interface Answer {
  readonly status: number;
  readonly body: string;
}

type ClientOptions = Pick<https.RequestOptions, 'key' | 'cert' | 'ca' | 'pfx' | 'passphrase' | 'servername'>;

function request(port: number, client: ClientOptions): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', port, path: '/', method: 'GET', agent: false, timeout: 5000, ...client },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end();
  });
}

describe('mutual TLS with the development PKI', () => {
  let root: string;
  let pki: string;
  let foreignPki: string;
  let server: https.Server;
  let port: number;
  const handshakeFailures: string[] = [];
  let handled = 0;

  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'dqkd-pki-tls-'));
    pki = path.join(root, 'pki');
    foreignPki = path.join(root, 'foreign');
    await Promise.all([
      ensureDevPki({ dir: pki }),
      ensureDevPki({ dir: foreignPki, kmes: ['kme-east'], saes: ['sae-alice'], entropyServers: [] }),
    ]);
    server = https.createServer(await readMutualTlsServerOptions(pki, 'kme-east'), (req, res) => {
      handled++;
      const socket = req.socket as TLSSocket;
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          caller: certificateIdentity(socket.getPeerCertificate()),
          authorized: socket.authorized,
        }),
      );
    });
    // Node completes the handshake and then destroys an unauthorized socket, so the socket's
    // authorizationError says why; a missing certificate is refused inside OpenSSL and has only the error code.
    server.on('tlsClientError', (error: NodeJS.ErrnoException, socket: TLSSocket) => {
      handshakeFailures.push(String(socket.authorizationError ?? error.code));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    await rm(root, { recursive: true, force: true });
  });

  it.each(['sae-alice', 'sae-bob', 'sae-carol'])(
    'answers 200 to %s and sees its ID as the caller',
    async (saeId) => {
      const answer = await request(port, await readTlsOptions(pki, saeId));
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.body)).toEqual({ caller: saeId, authorized: true });
    },
  );

  it('accepts the SAE bundle from its .p12 file with the empty passphrase', async () => {
    const pfx = await readFile(path.join(pki, 'sae-bob.p12'));
    const ca = await readFile(path.join(pki, 'ca.pem'));
    const answer = await request(port, { pfx, passphrase: '', ca });
    expect(JSON.parse(answer.body)).toEqual({ caller: 'sae-bob', authorized: true });
  });

  it('speaks TLS 1.3', async () => {
    const agreed = await handshake(port, await readTlsOptions(pki, 'sae-alice'), {});
    expect(agreed).toEqual({ ok: true, protocol: 'TLSv1.3', cipher: expect.stringMatching(/^TLS_/) });
  });

  it('takes TLS 1.2 with ECDHE and an AEAD cipher', async () => {
    const agreed = await handshake(port, await readTlsOptions(pki, 'sae-alice'), {
      maxVersion: 'TLSv1.2',
      ciphers: ACCEPTED_TLS12_SUITE,
    });
    expect(agreed).toEqual({
      ok: true,
      protocol: 'TLSv1.2',
      cipher: 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
    });
  });

  it.each(REFUSED_TLS12_SUITES)('fails a TLS 1.2 handshake offering only %s', async (_why, suite) => {
    const agreed = await handshake(port, await readTlsOptions(pki, 'sae-alice'), {
      maxVersion: 'TLSv1.2',
      ciphers: suite,
    });
    expect(agreed.ok).toBe(false);
  });

  it('fails a handshake below TLS 1.2, refused by the server', async () => {
    const before = handshakeFailures.length;
    const agreed = await handshake(port, await readTlsOptions(pki, 'sae-alice'), {
      minVersion: 'TLSv1',
      maxVersion: 'TLSv1.1',
      ciphers: 'DEFAULT:@SECLEVEL=0',
    });
    expect(agreed.ok).toBe(false);
    // The client did offer TLS 1.0/1.1 (a client unable to would fail without asking): the server said no.
    await waitFor(() => handshakeFailures.length > before);
    expect(handshakeFailures.slice(before)).toEqual(['ERR_SSL_UNSUPPORTED_PROTOCOL']);
  });

  it('accepts a KME as client, since KMEs call entropy servers', async () => {
    const answer = await request(port, await readTlsOptions(pki, 'kme-west'));
    expect(JSON.parse(answer.body)).toEqual({ caller: 'kme-west', authorized: true });
  });

  it('is reachable under the KME ID as server name', async () => {
    const answer = await request(port, {
      ...(await readTlsOptions(pki, 'sae-alice')),
      servername: 'kme-east',
    });
    expect(answer.status).toBe(200);
  });

  it.each([
    [
      'a client certificate of a foreign CA',
      async () => ({ ...(await readTlsOptions(foreignPki, 'sae-alice')), ca: await caOf(pki) }),
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    ],
    [
      'a client without a certificate',
      async () => ({ ca: await caOf(pki) }),
      'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE',
    ],
    [
      'an entropy server certificate as client (serverAuth only)',
      () => readTlsOptions(pki, 'entropy-1'),
      'INVALID_PURPOSE',
    ],
  ])('refuses %s before any request is handled', async (_case, client, reason) => {
    const before = { failures: handshakeFailures.length, handled };
    await expect(request(port, await client())).rejects.toThrow();
    await waitFor(() => handshakeFailures.length > before.failures);
    expect(handshakeFailures.slice(before.failures)).toEqual([reason]);
    expect(handled).toBe(before.handled);
  });

  it('lets a client refuse a server that presents an SAE certificate', async () => {
    const impostor = https.createServer(await readMutualTlsServerOptions(pki, 'sae-carol'), (_req, res) =>
      res.end(),
    );
    impostor.listen(0, '127.0.0.1');
    await once(impostor, 'listening');
    try {
      const impostorPort = (impostor.address() as AddressInfo).port;
      await expect(
        request(impostorPort, { ...(await readTlsOptions(pki, 'sae-alice')), servername: 'sae-carol' }),
      ).rejects.toThrow(/purpose/i);
    } finally {
      impostor.closeAllConnections();
      await new Promise((resolve) => impostor.close(resolve));
    }
  });
});

async function caOf(pki: string): Promise<string> {
  return readFile(path.join(pki, 'ca.pem'), 'utf8');
}

// The server reports a refused handshake on its own schedule, shortly after the client sees the alert.
async function waitFor(condition: () => boolean): Promise<void> {
  for (let attempt = 0; attempt < 50 && !condition(); attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
