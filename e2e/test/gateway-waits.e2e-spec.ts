import https from 'node:https';
import * as path from 'node:path';
import tls from 'node:tls';

import { saeTls } from '@dqkd/embedded/dist/observe';

import { GatewayNetwork } from './support/gateway-network';

/** Long enough that an answer after the pause is told apart from one after the notification. */
const POLL_MS = 1_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Sends GET requests for `paths` pipelined on one connection as the SAE, and goes away after `ms`. */
async function pipelineAndLeave(
  network: GatewayNetwork,
  sae: string,
  base: string,
  paths: string[],
  ms: number,
) {
  const { host, hostname, port } = new URL(base);
  const socket = tls.connect({
    ...saeTls(path.join(network.dir, '.dqkd'), sae),
    host: hostname,
    port: Number(port),
  });
  await new Promise((resolve, reject) => {
    socket.once('secureConnect', resolve);
    socket.once('error', reject);
  });
  socket.on('error', () => undefined);
  socket.write(paths.map((each) => `GET ${each} HTTP/1.1\r\nHost: ${host}\r\n\r\n`).join(''));
  await sleep(ms);
  socket.destroy();
}

/** Sends a request as the SAE and goes away after `ms`, as a client whose timeout ran out. */
async function departAfter(network: GatewayNetwork, sae: string, url: string, ms: number): Promise<void> {
  const request = https.request(url, { ...saeTls(path.join(network.dir, '.dqkd'), sae), agent: false });
  const gone = new Promise<void>((resolve) => request.on('close', () => resolve()));
  request.on('error', () => undefined);
  request.on('response', () => {
    throw new Error(`the gateway answered ${url} within ${ms} ms`);
  });
  request.end();
  await sleep(ms);
  request.destroy();
  await gone;
}

/**
 * A dec_keys request for a key whose assignment has not arrived waits in the gateway. When the keys are
 * recorded, the ledger's notification makes it look again at once, also when that notification arrives while
 * a batch is in the ledger (it once found no pause to end then, and the request sat out the whole pause).
 */
describe('api-gateway dec_keys waiting for an assignment', () => {
  let network: GatewayNetwork;
  beforeAll(async () => {
    network = await GatewayNetwork.start({ assignmentPollMs: POLL_MS });
    await network.seedBlocks(2);
  });
  afterAll(() => network?.stop());

  it('answers as soon as the keys are recorded, though they were recorded while a batch was in the ledger', async () => {
    const alice = network.client('sae-alice', 'kme-east');
    const bob = network.client('sae-bob', 'kme-west');
    const [present] = (await alice.encKeys('sae-bob')).keys;
    await network.settled();
    const release = network.holdAssignments();
    const [held] = (await alice.encKeys('sae-bob')).keys;

    // The next batch will stop at the present key's slave entry, locked here.
    const lock = network.site('kme-west').ledger.dataSource.createQueryRunner();
    await lock.connect();
    await lock.startTransaction();
    await lock.query(`SELECT 1 FROM key_slaves WHERE key_id = $1 FOR UPDATE`, [present!.key_ID]);
    try {
      const waiting = bob.decKeys('sae-alice', [held!.key_ID]);
      await new Promise((resolve) => setTimeout(resolve, 200));
      // Wakes the waiting request into a batch with this one; that batch then waits for the lock.
      const blocked = bob.decKeys('sae-alice', [present!.key_ID]);
      await new Promise((resolve) => setTimeout(resolve, 200));
      release();
      await network.settled();

      await lock.commitTransaction();
      const unlocked = performance.now();
      expect((await blocked).keys[0]!.key).toBe(present!.key);
      const answer = await waiting;
      expect(answer.keys[0]!.key).toBe(held!.key);
      expect(performance.now() - unlocked).toBeLessThan(POLL_MS / 2);
    } finally {
      if (lock.isTransactionActive) await lock.rollbackTransaction();
      await lock.release();
    }
  });

  it('claims nothing for a slave that went away while its key was awaited: the key stays for its next ask', async () => {
    const alice = network.client('sae-alice', 'kme-east');
    const bob = network.client('sae-bob', 'kme-west');
    const release = network.holdAssignments();
    const [key] = (await alice.encKeys('sae-bob')).keys;
    const west = network.site('kme-west').baseUrl;
    try {
      await departAfter(
        network,
        'sae-bob',
        `${west}/api/v1/keys/sae-alice/dec_keys?key_ID=${key!.key_ID}`,
        300,
      );
    } finally {
      release();
    }
    await network.settled();
    // Past the departed request's wait, had it stayed in the gateway's batches.
    await sleep(2_500);
    const fetched = await bob.decKeys('sae-alice', [key!.key_ID]);
    expect(fetched.keys[0]!.key).toBe(key!.key);
  });

  it('carves no keys for a master that went away while it waited for the pool', async () => {
    const keyRows = async () =>
      (
        (await network.site('kme-east').ledger.dataSource.query(`SELECT count(*)::int AS n FROM keys`)) as {
          n: number;
        }[]
      )[0]!.n;
    const before = await keyRows();
    // More than the seeded blocks hold: the request waits for the pool, and the client gives up.
    const east = network.site('kme-east').baseUrl;
    const departed = departAfter(
      network,
      'sae-alice',
      `${east}/api/v1/keys/sae-bob/enc_keys?number=1024`,
      300,
    );
    await departed;
    // Now the pool covers it, within the 2 s the request would have waited.
    await network.seedBlocks(8);
    await sleep(2_500);
    expect(await keyRows()).toBe(before);
    // The blocks are there for a master that stays.
    expect(
      (await network.client('sae-alice', 'kme-east').encKeys('sae-bob', { number: 1024 })).keys,
    ).toHaveLength(1024);
  });

  // No reaper runs here: the key is still in both ledgers, so the 400 is the gateway's own judgement of the
  // deadline, not a key gone missing (which it would wait 2 s for).
  it('refuses a key past its dqkd_ttl at once, though both ledgers still hold it', async () => {
    const [key] = (
      await network.client('sae-alice', 'kme-east').encKeys('sae-bob', {
        number: 1,
        extension_mandatory: [{ dqkd_ttl: 1 }],
      })
    ).keys;
    await network.settled();
    await sleep(new Date(String(key!.key_extension?.['dqkd_expires_at'])).getTime() - Date.now() + 50);
    const asked = performance.now();
    const refused = await network
      .client('sae-bob', 'kme-west')
      .decKeys('sae-alice', [key!.key_ID])
      .catch((error: unknown) => error);
    expect(performance.now() - asked).toBeLessThan(1_000);
    expect(refused).toMatchObject({ status: 400 });
    const held = await network
      .site('kme-west')
      .ledger.dataSource.query(`SELECT 1 FROM key_slaves WHERE key_id = $1 AND delivered_at IS NULL`, [
        key!.key_ID,
      ]);
    expect(held).toHaveLength(1);
  });

  // Node tells only the response at the head of a pipelined connection that the connection closed.
  it('claims nothing for requests pipelined on a connection that went away', async () => {
    const release = network.holdAssignments();
    const { keys } = await network.client('sae-alice', 'kme-east').encKeys('sae-bob', { number: 2 });
    const ids = keys.map((key) => key.key_ID);
    try {
      await pipelineAndLeave(
        network,
        'sae-bob',
        network.site('kme-west').baseUrl,
        ids.map((id) => `/api/v1/keys/sae-alice/dec_keys?key_ID=${id}`),
        300,
      );
    } finally {
      release();
    }
    await network.settled();
    await sleep(2_500);
    const fetched = await network.client('sae-bob', 'kme-west').decKeys('sae-alice', ids);
    expect(fetched.keys.map((key) => key.key)).toEqual(keys.map((key) => key.key));
  });
});
