import https from 'node:https';
import * as path from 'node:path';

import { saeTls } from '@dqkd/embedded/dist/observe';

import { GatewayNetwork } from './support/gateway-network';
import { NATS_URL } from './support/test-site';

interface Answer {
  readonly status: number;
  readonly body: { keys?: { key_ID: string; key: string }[] };
}

/**
 * What SIGTERM does to a gateway (runProcess closes the Nest application): the API stops taking connections,
 * a request already in flight still gets its answer, with its assignment published, before NATS and the
 * ledger close. So Kubernetes can stop a pod without losing a key it returned.
 */
describe('api-gateway shutdown', () => {
  let network: GatewayNetwork;
  beforeAll(async () => {
    network = await GatewayNetwork.start({ natsUrl: NATS_URL });
    await network.seedBlocks(8);
  });
  afterAll(() => network?.stop());

  it('answers a request in flight, refuses new connections, then closes; the key decodes at the other site', async () => {
    const east = network.site('kme-east');
    const tls = saeTls(path.join(network.dir, '.dqkd'), 'sae-alice');
    // A kept-alive connection that sits idle must not hold the stop up.
    expect((await network.client('sae-alice', 'kme-east').status('sae-bob')).source_KME_ID).toBe('kme-east');

    const body = JSON.stringify({ number: 2 });
    const request = https.request(`${east.baseUrl}/api/v1/keys/sae-bob/enc_keys`, {
      method: 'POST',
      ...tls,
      headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
    });
    const answer = new Promise<Answer>((resolve, reject) => {
      request.on('response', (response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk.toString()));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) }));
      });
      request.on('error', reject);
    });
    // Half the body: the request is in flight, and the gateway reads on until it has it all.
    request.write(body.slice(0, 5));
    await new Promise((resolve) => setTimeout(resolve, 300));

    let closed = false;
    const closing = east.app.close().then(() => (closed = true));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(closed).toBe(false);
    await expect(network.client('sae-alice', 'kme-east').status('sae-bob')).rejects.toMatchObject({
      code: 'connection',
    });

    request.end(body.slice(5));
    const { status, body: sent } = await answer;
    expect(status).toBe(200);
    expect(sent.keys).toHaveLength(2);
    const answeredAt = Date.now();
    await closing;
    // Not held up by the connection the answer left idle (kept alive by Node's agent), nor by Alice's.
    expect(Date.now() - answeredAt).toBeLessThan(2000);

    const fetched = await network.client('sae-bob', 'kme-west').decKeys(
      'sae-alice',
      sent.keys!.map((key) => key.key_ID),
    );
    expect(fetched.keys.map((key) => key.key)).toEqual(sent.keys!.map((key) => key.key));
  }, 60_000);
});

describe('api-gateway shutdown with a request that never finishes', () => {
  const DRAIN_MS = 1_000;
  let network: GatewayNetwork;
  beforeAll(async () => {
    network = await GatewayNetwork.start({ drainMs: DRAIN_MS });
  });
  afterAll(() => network?.stop());

  // Node stops timing requests out once its server closes: without the drain's bound, this stop never ended.
  it('closes its connection once the drain is over, and stops', async () => {
    const east = network.site('kme-east');
    const request = https.request(`${east.baseUrl}/api/v1/keys/sae-bob/enc_keys`, {
      method: 'POST',
      ...saeTls(path.join(network.dir, '.dqkd'), 'sae-alice'),
      headers: { 'Content-Type': 'application/json', 'Content-Length': 100 },
    });
    const ended = new Promise<string>((resolve) => {
      request.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
      request.on('response', (response) => resolve(`answered ${response.statusCode}`));
    });
    request.write('{"num');
    await new Promise((resolve) => setTimeout(resolve, 300));

    const stopping = Date.now();
    await east.app.close();
    expect(Date.now() - stopping).toBeGreaterThanOrEqual(DRAIN_MS - 50);
    expect(Date.now() - stopping).toBeLessThan(DRAIN_MS + 3_000);
    expect(await ended).toBe('ECONNRESET');
  }, 30_000);
});
