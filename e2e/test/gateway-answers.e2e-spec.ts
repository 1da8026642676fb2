import * as path from 'node:path';

import { eventually } from './support/flow-network';
import { GatewayNetwork } from './support/gateway-network';
import { NATS_URL } from './support/test-site';
import { connectAs } from './support/two-sites';

/**
 * 4 MiB of the largest keys: an answer of 5.6 MB of JSON, more than the sockets buffer (one of 700 kB went out
 * whole to a client that read none of it).
 */
const KEYS = 512;
const SIZE = 65536;

describe('api-gateway answers that do not reach the slave, on NATS JetStream', () => {
  let network: GatewayNetwork;
  beforeAll(async () => {
    network = await GatewayNetwork.start({ natsUrl: NATS_URL });
    await network.seedBlocks((KEYS * SIZE) / 65536 + 8);
  }, 120_000);
  afterAll(() => network?.stop());

  const claimedOrDelivered = async (keyIds: readonly string[]) => {
    const [row] = (await network.site('kme-west').ledger.dataSource.query(
      `SELECT count(*)::int AS n FROM key_slaves
         WHERE key_id = ANY ($1::uuid[]) AND (claimed_until IS NOT NULL OR delivered_at IS NOT NULL)`,
      [keyIds],
    )) as { n: number }[];
    return row!.n;
  };

  // Bob's dec_keys is answered, but the answer never reaches him (his connection drops, or the gateway dies,
  // on the way). Before, the keys counted as delivered the moment they were claimed: he could never fetch them.
  it('lets the slave fetch again keys whose answer did not go out', async () => {
    const { keys } = await network
      .client('sae-alice', 'kme-east')
      .encKeys('sae-bob', { number: KEYS, size: SIZE });
    await network.settled();
    const keyIds = keys.map((key) => key.key_ID);
    const body = JSON.stringify({ key_IDs: keyIds.map((key_ID) => ({ key_ID })) });
    // Bob reads nothing of the answer: it stays in the sockets' buffers and the gateway's.
    const pki = path.join(network.dir, '.dqkd/pki');
    const socket = connectAs(network.site('kme-west').baseUrl, 'sae-bob', pki, () => {
      socket.write(
        `POST /api/v1/keys/sae-alice/dec_keys HTTP/1.1\r\nHost: kme\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
      socket.pause();
    });
    socket.on('error', () => undefined);
    await eventually(async () => (await claimedOrDelivered(keyIds)) === KEYS, 10_000, 'the keys claimed');
    // Meanwhile the keys are neither delivered nor free: not a final "not found", a 503 to ask again.
    await expect(network.client('sae-bob', 'kme-west').decKeys('sae-alice', keyIds)).rejects.toMatchObject({
      status: 503,
      body: { message: expect.stringMatching(/^one or more keys specified are being delivered on another/) },
    });
    socket.destroy();

    const fetched = await fetchWhenFree(network, keyIds);
    expect(fetched).toEqual(keys.map((key) => key.key));
    // Now delivered: the material is gone once the answer went out, and the keys are not served again.
    await eventually(
      async () =>
        (
          (await network
            .site('kme-west')
            .ledger.dataSource.query(
              `SELECT count(*)::int AS n FROM keys WHERE key_id = ANY ($1::uuid[]) AND material_kek_id IS NOT NULL`,
              [keyIds],
            )) as { n: number }[]
        )[0]!.n === 0,
      10_000,
      'the material dropped',
    );
    await expect(network.client('sae-bob', 'kme-west').decKeys('sae-alice', keyIds)).rejects.toMatchObject({
      status: 400,
    });
  });

  /**
   * Two dec_keys on one connection as Bob: the first for a key whose assignment is held back (it waits), the
   * second for one that is there, answered behind the first. Resolves to what came back once `until` holds of
   * it, or once Bob left after `leaveAfterMs`.
   */
  function pipelined(
    waiting: string,
    ready: string,
    end: { until: (text: string) => boolean } | { leaveAfterMs: number },
  ): Promise<string> {
    const paths = [waiting, ready].map((id) => `/api/v1/keys/sae-alice/dec_keys?key_ID=${id}`);
    return new Promise((resolve) => {
      let text = '';
      const pki = path.join(network.dir, '.dqkd/pki');
      const socket = connectAs(network.site('kme-west').baseUrl, 'sae-bob', pki, () => {
        socket.write(paths.map((each) => `GET ${each} HTTP/1.1\r\nHost: kme\r\n\r\n`).join(''));
        if ('leaveAfterMs' in end) setTimeout(() => socket.destroy(), end.leaveAfterMs);
      });
      socket.on('data', (chunk: Buffer) => {
        text += chunk.toString();
        if ('until' in end && end.until(text)) socket.destroy();
      });
      socket.on('error', () => undefined);
      socket.on('close', () => resolve(text));
    });
  }

  const oneKey = async () => {
    const [key] = (await network.client('sae-alice', 'kme-east').encKeys('sae-bob', { number: 1 })).keys;
    return key!;
  };

  // Node gives an answer queued behind another on a pipelined connection its socket only once the one ahead is
  // out: read before, the answer counted as not gone out, and its key was served again.
  it('counts a pipelined answer that went out behind another as delivered', async () => {
    const ready = await oneKey();
    await network.settled();
    const release = network.holdAssignments();
    const waiting = await oneKey().finally(() => setTimeout(release, 500));
    const text = await pipelined(waiting.key_ID, ready.key_ID, {
      until: (sofar) => sofar.includes(ready.key),
    });
    expect(text).toContain(waiting.key);
    await eventually(async () => (await claimedOrDelivered([ready.key_ID])) === 1, 5_000, 'the key recorded');
    await expect(
      network.client('sae-bob', 'kme-west').decKeys('sae-alice', [ready.key_ID]),
    ).rejects.toMatchObject({
      status: 400,
    });
    const [entry] = (await network
      .site('kme-west')
      .ledger.dataSource.query(
        `SELECT delivered_at IS NOT NULL AS delivered FROM key_slaves WHERE key_id = $1`,
        [ready.key_ID],
      )) as { delivered: boolean }[];
    expect(entry!.delivered).toBe(true);
  });

  // Node tells only the answer at the head of a pipelined connection that the connection closed: the outcome
  // of the one behind it never came, and a stopping gateway waited for it for ever.
  it('frees the keys of a pipelined answer whose connection closed while it waited behind another', async () => {
    const ready = await oneKey();
    await network.settled();
    const release = network.holdAssignments();
    try {
      const waiting = await oneKey();
      // The ready key is claimed at once; its answer waits behind the first, which waits for its assignment.
      await pipelined(waiting.key_ID, ready.key_ID, { leaveAfterMs: 300 });
    } finally {
      release();
    }
    expect(await fetchWhenFree(network, [ready.key_ID])).toEqual([ready.key]);
  });
});

/** Bob's second try, once the gateway has seen that the first answer did not go out. */
async function fetchWhenFree(network: GatewayNetwork, keyIds: readonly string[]): Promise<string[]> {
  let fetched: string[] = [];
  await eventually(
    async () => {
      try {
        const container = await network.client('sae-bob', 'kme-west').decKeys('sae-alice', [...keyIds]);
        fetched = container.keys.map((key) => key.key);
        return true;
      } catch {
        return false;
      }
    },
    10_000,
    'the keys delivered again',
  );
  return fetched;
}
