import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';

import { seal } from '@dqkd/blast';
import type { EntropyServer } from '@dqkd/config';
import {
  generateSealingIdentity,
  loadSealingIdentity,
  readMutualTlsServerOptions,
  sealingIdentityFile,
  type SealingIdentity,
} from '@dqkd/pki';

import {
  EntropyAnswerInvalid,
  EntropyServerUnreachable,
  EntropyServerUnverifiable,
  encodeSamplePlaintext,
  maxAnswerBytes,
  refBody,
  RemoteEntropySource,
  SampleRefused,
  type KmeEntropyCredentials,
} from '../src';
import { EntropyNetwork } from './entropy-network';

type Reply = (body: { bytes: number; not_after: number }) => { status: number; body: unknown };

/**
 * A stand-in for entropy-1 over real mutual TLS that answers what each test scripts, to show what the
 * client refuses; the real server is exercised end to end in apps/entropy-server and e2e/.
 */
describe('RemoteEntropySource', () => {
  let network: EntropyNetwork;
  let server: Server;
  let reply: Reply;
  let east: KmeEntropyCredentials;
  let entropy1: EntropyServer;
  let signer: SealingIdentity;

  const sealed = (
    identity: SealingIdentity,
    bytes: Uint8Array,
    poolId: string,
    notAfter: number,
    offset = 0,
  ): { status: number; body: unknown } => {
    const envelope = seal(
      { kind: 'sample', subjectId: poolId, source: 'entropy-1', target: 'kme-east', expiresAt: notAfter },
      encodeSamplePlaintext(offset, bytes),
      identity.sigSecretKey,
      east.identity.kemPublicKey,
    );
    const ref = { serverId: 'entropy-1', poolId, offset, length: bytes.length, notAfter };
    return { status: 200, body: { ref: refBody(ref), sample: Buffer.from(envelope).toString('base64') } };
  };

  beforeAll(async () => {
    network = await EntropyNetwork.create();
    east = await network.credentials('kme-east');
    signer = await loadSealingIdentity(path.join(network.pkiDir, sealingIdentityFile('entropy-1')));
    server = createServer(
      await readMutualTlsServerOptions(network.pkiDir, 'entropy-1'),
      (request, response) => {
        const chunks: Buffer[] = [];
        request.on('data', (chunk: Buffer) => chunks.push(chunk));
        request.on('end', () => {
          const { status, body } = reply(JSON.parse(Buffer.concat(chunks).toString()));
          response.writeHead(status, { 'content-type': 'application/json' });
          response.end(typeof body === 'string' ? body : JSON.stringify(body));
        });
      },
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    entropy1 = {
      ...network.network.entropyServers[0],
      url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    };
  });

  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    network?.remove();
  });

  async function lease(deadline = Date.now() + 60_000): Promise<unknown> {
    const source = new RemoteEntropySource({ server: entropy1, ...east });
    try {
      return await source.lease(16, ['kme-east', 'kme-west'], deadline);
    } catch (error) {
      return error;
    } finally {
      source.close();
    }
  }

  it('opens a sample sealed to this KME and signed by the server the network file names', async () => {
    const bytes = Uint8Array.from({ length: 16 }, (_, i) => i);
    reply = ({ not_after }) => sealed(signer, bytes, randomUUID(), not_after);
    const leased = (await lease()) as { bytes: Uint8Array };
    expect(Array.from(leased.bytes)).toEqual(Array.from(bytes));
  });

  it('refuses a sample signed by any other key', async () => {
    reply = ({ not_after }) =>
      sealed(generateSealingIdentity('entropy-1'), new Uint8Array(16), randomUUID(), not_after);
    const failure = await lease();
    expect(failure).toBeInstanceOf(EntropyAnswerInvalid);
    expect((failure as Error).message).toMatch(/not signed by entropy-1/);
  });

  it('refuses a sample whose envelope is bound to another reference', async () => {
    reply = ({ not_after }) => {
      const answer = sealed(signer, new Uint8Array(16), randomUUID(), not_after);
      return {
        ...answer,
        body: {
          ...(answer.body as object),
          ref: { ...(answer.body as { ref: object }).ref, pool_id: randomUUID() },
        },
      };
    };
    expect(await lease()).toBeInstanceOf(EntropyAnswerInvalid);
  });

  it('refuses a lease whose reference outlives the deadline asked for', async () => {
    reply = ({ not_after }) => sealed(signer, new Uint8Array(16), randomUUID(), not_after + 1);
    expect(await lease()).toBeInstanceOf(EntropyAnswerInvalid);
  });

  it('maps a refusal to SampleRefused with its reason, and anything else to EntropyAnswerInvalid', async () => {
    reply = () => ({
      status: 409,
      body: { error: 'already-read', message: 'kme-east has read this sample' },
    });
    expect(await lease()).toMatchObject({
      constructor: SampleRefused,
      reason: 'already-read',
      serverId: 'entropy-1',
    });
    reply = () => ({ status: 500, body: '<html>' });
    expect(await lease()).toBeInstanceOf(EntropyAnswerInvalid);
  });

  it('bounds an answer by the sample asked for: no more than its base64 and an envelope, however large', async () => {
    // Valid JSON all the same: a server padding its answer is told by the size alone.
    reply = ({ not_after }) => {
      const answer = sealed(signer, new Uint8Array(16), randomUUID(), not_after);
      return { status: 200, body: JSON.stringify(answer.body) + ' '.repeat(maxAnswerBytes(16)) };
    };
    const failure = await lease();
    expect(failure).toBeInstanceOf(EntropyAnswerInvalid);
    expect((failure as Error).message).toMatch(/the answer is too large/);
    // A sample of a large block (13 MiB: over 16 MiB in base64) is not refused for its size.
    const large = new Uint8Array(13 * 1024 * 1024).fill(7);
    reply = ({ not_after }) => sealed(signer, large, randomUUID(), not_after);
    const source = new RemoteEntropySource({ server: entropy1, ...east, timeoutMs: 30_000 });
    try {
      const leased = await source.lease(large.length, ['kme-east', 'kme-west'], Date.now() + 60_000);
      expect(leased.bytes).toHaveLength(large.length);
    } finally {
      source.close();
    }
  }, 60_000);

  it('reports a server that does not answer as unreachable', async () => {
    const source = new RemoteEntropySource({ server: { ...entropy1, url: 'https://127.0.0.1:1' }, ...east });
    await expect(
      source.read({ serverId: 'entropy-1', poolId: 'p', offset: 0, length: 1, notAfter: 1 }, 'kme-west'),
    ).rejects.toBeInstanceOf(EntropyServerUnreachable);
    source.close();
  });

  it('gives up on a server that keeps its answer trickling in past the timeout, counted from the request', async () => {
    const slow = createServer(
      await readMutualTlsServerOptions(network.pkiDir, 'entropy-1'),
      (_request, response) => {
        // Never quiet for long, so no idle timeout fires: a byte every 100 ms, for 20 s.
        response.writeHead(200, { 'content-type': 'application/json' });
        const drip = setInterval(() => response.write(' '), 100);
        const stop = () => clearInterval(drip);
        response.on('close', stop);
        setTimeout(() => (stop(), response.end('{}')), 20_000).unref();
      },
    );
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
    const url = `https://127.0.0.1:${(slow.address() as AddressInfo).port}`;
    const source = new RemoteEntropySource({ server: { ...entropy1, url }, ...east, timeoutMs: 1000 });
    const started = Date.now();
    try {
      await expect(
        source.read({ serverId: 'entropy-1', poolId: 'p', offset: 0, length: 1, notAfter: 1 }, 'kme-west'),
      ).rejects.toThrow(EntropyServerUnreachable);
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      source.close();
      slow.closeAllConnections();
      await new Promise((resolve) => slow.close(resolve));
    }
  });

  it('refuses a URL it cannot request, and nothing fires after its timeout', async () => {
    const source = new RemoteEntropySource({
      server: { ...entropy1, url: 'http://127.0.0.1:1' },
      ...east,
      timeoutMs: 100,
    });
    try {
      await expect(
        source.read({ serverId: 'entropy-1', poolId: 'p', offset: 0, length: 1, notAfter: 1 }, 'kme-west'),
      ).rejects.toThrow(/protocol/i);
      // A deadline left armed would throw from its timer here, failing the test.
      await new Promise((resolve) => setTimeout(resolve, 300));
    } finally {
      source.close();
    }
  });

  it('does not talk to a server that offers only TLS 1.2 with a CBC cipher (TLS_POLICY)', async () => {
    const weak = createServer(
      {
        ...(await readMutualTlsServerOptions(network.pkiDir, 'entropy-1')),
        maxVersion: 'TLSv1.2',
        ciphers: 'ECDHE-RSA-AES128-SHA256',
      },
      (_request, response) => response.end('{}'),
    );
    await new Promise<void>((resolve) => weak.listen(0, '127.0.0.1', resolve));
    let served = 0;
    weak.on('request', () => (served += 1));
    const url = `https://127.0.0.1:${(weak.address() as AddressInfo).port}`;
    const source = new RemoteEntropySource({ server: { ...entropy1, url }, ...east });
    try {
      await expect(
        source.read({ serverId: 'entropy-1', poolId: 'p', offset: 0, length: 1, notAfter: 1 }, 'kme-west'),
      ).rejects.toBeInstanceOf(EntropyServerUnreachable);
      expect(served).toBe(0);
    } finally {
      source.close();
      await new Promise((resolve) => weak.close(resolve));
    }
  });

  it('asks nothing of a server without public keys in the network file', async () => {
    const { sealing: _none, ...unverifiable } = entropy1;
    const asked = jest.fn(() => ({ status: 500, body: {} }));
    reply = asked;
    const source = new RemoteEntropySource({ server: unverifiable, ...east });
    await expect(source.lease(16, ['kme-east', 'kme-west'], Date.now() + 60_000)).rejects.toBeInstanceOf(
      EntropyServerUnverifiable,
    );
    expect(asked).not.toHaveBeenCalled();
    source.close();
  });
});
