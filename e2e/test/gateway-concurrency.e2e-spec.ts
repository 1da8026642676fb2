import { randomBytes, randomUUID } from 'node:crypto';

import { EtsiHttpError } from '@dqkd/client';
import type { Key } from '@dqkd/etsi014';
import { metricToken, type Counter } from '@dqkd/metrics';

import { alterAtRest } from '../../libs/ledger/test/support/alter-at-rest';
import { BLOCK_BITS, GatewayNetwork } from './support/gateway-network';

const NATS_URL = process.env['DQKD_TEST_NATS_URL'] ?? 'nats://127.0.0.1:4222';

describe('api-gateway under concurrency, on NATS JetStream', () => {
  let network: GatewayNetwork;
  const received: Key[] = [];
  const errorBodies: string[] = [];
  beforeAll(async () => {
    network = await GatewayNetwork.start({
      natsUrl: NATS_URL,
      limits: { sae_requests_per_second: 100000, sae_request_burst: 100000 },
    });
    await network.seedBlocks(4);
  });
  afterAll(() => network?.stop());

  it('hands out no key ID and no bit twice to 50 parallel enc_keys', async () => {
    const alice = network.client('sae-alice', 'kme-east');
    const answers = await Promise.all(
      Array.from({ length: 50 }, () => alice.encKeys('sae-bob', { number: 4, size: 256 })),
    );
    const keys = answers.flatMap((answer) => answer.keys);
    received.push(...keys);
    expect(keys).toHaveLength(200);
    expect(new Set(keys.map((key) => key.key_ID)).size).toBe(200);
    expect(new Set(keys.map((key) => key.key)).size).toBe(200);
    const [overlap] = (await network.site('kme-east').ledger.dataSource.query(
      `SELECT count(*)::int AS n FROM bit_ranges a JOIN bit_ranges b
         ON a.block_id = b.block_id AND a.bits && b.bits AND (a.reservation_id, a.ordinal) <> (b.reservation_id, b.ordinal)`,
    )) as { n: number }[];
    expect(overlap.n).toBe(0);
  });

  it('keeps no copy of the material at the source once it answered', async () => {
    const east = network.site('kme-east').ledger;
    const [held] = (await east.dataSource.query(
      `SELECT count(*)::int AS n FROM keys WHERE material_ciphertext IS NOT NULL`,
    )) as { n: number }[];
    expect(held.n).toBe(0);
    const blocks = (await east.dataSource.query(`SELECT id FROM blocks`)) as { id: string }[];
    const stored = await Promise.all(blocks.map((block) => east.blocks.readMaterial(block.id)));
    // Blocks still holding material to look in, and keys to look for.
    expect(stored.some((block) => block !== undefined && block.some((byte) => byte !== 0))).toBe(true);
    expect(received.length).toBeGreaterThanOrEqual(20);
    for (const key of received.slice(0, 20)) {
      const material = Buffer.from(key.key, 'base64');
      expect(stored.some((block) => block?.includes(material))).toBe(false);
    }
  });

  it('delivers one key exactly once to each slave under parallel dec_keys', async () => {
    const alice = network.client('sae-alice', 'kme-east');
    const { keys } = await alice.encKeys('sae-bob', { additional_slave_SAE_IDs: ['sae-carol'] });
    received.push(...keys);
    await network.settled();
    const attempts = ['sae-bob', 'sae-carol'].flatMap((saeId) =>
      Array.from({ length: 8 }, () =>
        network
          .client(saeId, 'kme-west')
          .decKeys('sae-alice', [keys[0].key_ID])
          .then(
            (container) => ({ saeId, key: container.keys[0].key }),
            (error: unknown) => {
              if (error instanceof EtsiHttpError) errorBodies.push(JSON.stringify(error.body));
              return { saeId, status: (error as EtsiHttpError).status };
            },
          ),
      ),
    );
    const results = await Promise.all(attempts);
    for (const saeId of ['sae-bob', 'sae-carol']) {
      const mine = results.filter((result) => result.saeId === saeId);
      expect(mine.filter((result) => 'key' in result)).toEqual([{ saeId, key: keys[0].key }]);
      // 503 while the winner's answer is on its way (free again should it not arrive), 400 once delivered or
      // when the claim found it taken.
      const statuses = mine.filter((result) => 'status' in result).map((result) => result.status);
      expect(statuses).toHaveLength(7);
      expect(statuses.filter((status) => status !== 400 && status !== 503)).toEqual([]);
    }
  });

  it('answers "not found" to a dec_keys request whose key another replica delivered before its claim, and counts it', async () => {
    const { keys } = await network.client('sae-alice', 'kme-east').encKeys('sae-bob');
    received.push(...keys);
    await network.settled();
    const west = network.site('kme-west');
    const lost = west.app.get<Counter>(metricToken('dqkd_dec_keys_claims_lost_total'));
    const lostSoFar = async () =>
      (await lost.get()).values.find((value) => value.labels['link'] === 'kme-east->kme-west')?.value;
    expect(await lostSoFar()).toBe(0);
    // Another replica (here: the same ledger, outside the batch) delivers the key in the moment between the
    // batch reading it and claiming it, once.
    const store = west.ledger.keys;
    const claim = store.claim.bind(store);
    store.claim = async (...args) => {
      store.claim = claim;
      expect(await store.deliver([keys[0].key_ID], { kind: 'sae', id: 'sae-bob' })).toMatchObject({
        ok: true,
      });
      return claim(...args);
    };
    const bob = network.client('sae-bob', 'kme-west');
    const decode = () => bob.decKeys('sae-alice', [keys[0].key_ID]).catch((error: unknown) => error);
    const lostRace = await decode();
    expect(store.claim).toBe(claim);
    expect(await lostSoFar()).toBe(1);
    // The same answer as a request that reads the key delivered already.
    const later = await decode();
    for (const refused of [lostRace, later]) {
      expect(refused).toBeInstanceOf(EtsiHttpError);
      errorBodies.push(JSON.stringify((refused as EtsiHttpError).body));
    }
    expect([(lostRace as EtsiHttpError).status, (lostRace as EtsiHttpError).body]).toEqual([
      400,
      (later as EtsiHttpError).body,
    ]);
    expect(await lostSoFar()).toBe(1);
  });

  it('fails only the dec_keys request whose key material does not open, with a 503 and a log line', async () => {
    const release = network.holdAssignments();
    const { keys } = await network.client('sae-alice', 'kme-east').encKeys('sae-bob', { number: 2 });
    received.push(...keys);
    const [altered, good] = keys.map((key) => key.key_ID);
    const west = network.site('kme-west');
    const store = west.ledger.keys;
    const claim = store.claim.bind(store);
    // The row is altered at rest between the batch reading the keys and claiming them (the batches before
    // only wait for the assignment, and claim nothing).
    store.claim = async (requests) => {
      if (requests.length === 0) return claim(requests);
      store.claim = claim;
      await alterAtRest(west.ledger, 'keys', [altered]);
      return claim(requests);
    };
    const bob = network.client('sae-bob', 'kme-west');
    // Both wait for the held assignment, so that one batch claims both.
    const answers = Promise.all(
      [altered, good].map((keyId) => bob.decKeys('sae-alice', [keyId]).catch((error: unknown) => error)),
    );
    // Time for both to reach the gateway and find their keys missing (they wait up to 2 s).
    await new Promise((resolve) => setTimeout(resolve, 300));
    release();
    const [failed, delivered] = await answers;
    expect(failed).toBeInstanceOf(EtsiHttpError);
    expect((failed as EtsiHttpError).status).toBe(503);
    errorBodies.push(JSON.stringify((failed as EtsiHttpError).body));
    expect(delivered).toEqual({ keys: [keys[1]] });
    expect(network.log.text).toContain(`the material of key ${altered} did not open`);
  });

  it('serves a key to no SAE a slave entry added at rest names, and still to the slave it was issued to', async () => {
    const { keys } = await network.client('sae-alice', 'kme-east').encKeys('sae-bob', { number: 1 });
    received.push(...keys);
    const [key] = keys;
    await network.settled();
    // Someone who can write to kme-west's ledger, without its KEK, adds Carol as a slave of Bob's key.
    await network
      .site('kme-west')
      .ledger.dataSource.query(
        `INSERT INTO key_slaves (key_id, slave_id, kind) VALUES ($1, 'sae-carol', 'sae')`,
        [key!.key_ID],
      );
    const stolen = await network
      .client('sae-carol', 'kme-west')
      .decKeys('sae-alice', [key!.key_ID])
      .catch((error: unknown) => error);
    expect(stolen).toBeInstanceOf(EtsiHttpError);
    expect((stolen as EtsiHttpError).status).toBe(503);
    errorBodies.push(JSON.stringify((stolen as EtsiHttpError).body));
    expect(network.log.text).toContain(`the material of key ${key!.key_ID} did not open`);
    await network
      .site('kme-west')
      .ledger.dataSource.query(`DELETE FROM key_slaves WHERE key_id = $1 AND slave_id = 'sae-carol'`, [
        key!.key_ID,
      ]);
    expect(await network.client('sae-bob', 'kme-west').decKeys('sae-alice', [key!.key_ID])).toEqual({ keys });
  });

  it('answers 400, not 401, for a key of another link here: it does not tell whose key that is', async () => {
    // A key kme-west issued itself, to Alice (its source-side record, no material).
    const west = network.site('kme-west').ledger;
    const link = await west.links.ensure('kme-west', 'kme-east', BLOCK_BITS);
    await west.blocks.store({
      id: randomUUID(),
      linkId: link.id,
      role: 'source',
      state: 'ready',
      bits: BLOCK_BITS,
      material: randomBytes(BLOCK_BITS / 8),
      metadata: Buffer.from('sealed metadata'),
      expiresAt: new Date(Date.now() + 3_600_000),
    });
    const reserved = await west.reservations.reserve(link.id, 256);
    if (!reserved.ok) throw new Error('no reservation');
    const keyId = randomUUID();
    await west.keys.record([
      {
        keyId,
        linkId: link.id,
        masterSaeId: 'sae-bob',
        size: 256,
        reservationId: reserved.reservation.id,
        offset: 0,
        expiresAt: new Date(Date.now() + 3_600_000),
        slaves: [{ kind: 'sae', id: 'sae-alice' }],
      },
    ]);
    const refused = await network
      .client('sae-carol', 'kme-west')
      .decKeys('sae-alice', [keyId])
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(EtsiHttpError);
    errorBodies.push(JSON.stringify((refused as EtsiHttpError).body));
    expect((refused as EtsiHttpError).status).toBe(400);
  });

  it('lets Bob decode every key Alice received', async () => {
    await network.settled();
    const bob = network.client('sae-bob', 'kme-west');
    const ids = received.slice(0, 200).map((key) => key.key_ID);
    const fetched = await bob.decKeys('sae-alice', ids);
    expect(fetched.keys.map((key) => key.key)).toEqual(received.slice(0, 200).map((key) => key.key));
  });

  it('writes no key material into NATS messages, sealed or opened, logs or error bodies', async () => {
    expect(received.length).toBeGreaterThan(200);
    // Concurrent requests share assignments (group commits), and Bob decoding every key proves each one passed.
    expect(network.published.length).toBeGreaterThan(0);
    const payloads = Buffer.concat([...network.published, ...(await network.plaintexts())]);
    const text = payloads.toString('latin1');
    // The request log lines are structured: the capture keeps them, so a key logged in one would be found.
    expect(network.log.text).toContain('"msg":"ETSI request answered"');
    for (const key of received) {
      const material = Buffer.from(key.key, 'base64');
      expect(payloads.includes(material)).toBe(false);
      expect(text).not.toContain(key.key);
      expect(text).not.toContain(material.toString('hex'));
      expect(network.log.text).not.toContain(key.key);
      expect(network.log.text).not.toContain(material.toString('hex'));
      errorBodies.forEach((body) => expect(body).not.toContain(key.key));
    }
  });
});
