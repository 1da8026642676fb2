import { EtsiHttpError } from '@dqkd/client';
import { metricToken, type Gauge } from '@dqkd/metrics';

import { eventually } from './support/flow-network';
import { GatewayNetwork } from './support/gateway-network';

/** The reservation each key was carved from, at the source. */
async function reservationsOf(network: GatewayNetwork, keyIds: readonly string[]): Promise<string[]> {
  const rows = (await network
    .site('kme-east')
    .ledger.dataSource.query(`SELECT key_id, reservation_id FROM keys WHERE key_id = ANY ($1::uuid[])`, [
      keyIds,
    ])) as { key_id: string; reservation_id: string }[];
  const byKey = new Map(rows.map((row) => [row.key_id, row.reservation_id]));
  return keyIds.map((keyId) => byKey.get(keyId)!);
}

/**
 * The X-Wing ciphertext of each assignment envelope: it follows the header (u8 version, u8 kind, 16-byte
 * subject, source and target as u8 length + UTF-8, u64 expiry).
 */
function kemCiphertexts(network: GatewayNetwork): string[] {
  const headerBytes = 2 + 16 + 1 + 'kme-east'.length + 1 + 'kme-west'.length + 8;
  return network.published.map((envelope) =>
    envelope.subarray(headerBytes, headerBytes + 1120).toString('hex'),
  );
}

/** Two keys for Bob, `pauseMs` apart, each decoded at west; answers their reservations at east. */
async function twoKeysApart(network: GatewayNetwork, pauseMs: number): Promise<string[]> {
  const alice = network.client('sae-alice', 'kme-east');
  const bob = network.client('sae-bob', 'kme-west');
  const first = await alice.encKeys('sae-bob', { number: 1 });
  await new Promise((resolve) => setTimeout(resolve, pauseMs));
  const second = await alice.encKeys('sae-bob', { number: 1 });
  const keys = [...first.keys, ...second.keys];
  const fetched = await bob.decKeys(
    'sae-alice',
    keys.map((key) => key.key_ID),
  );
  expect(fetched.keys.map((key) => key.key)).toEqual(keys.map((key) => key.key));
  return reservationsOf(
    network,
    keys.map((key) => key.key_ID),
  );
}

describe.each([
  ['its lease is young', 30_000, 1],
  ['its lease has aged out', 300, 2],
])('api-gateway leases: a key issued after another when %s', (_case, leaseMaxAgeMs, reservations) => {
  let network: GatewayNetwork;
  beforeAll(async () => {
    network = await GatewayNetwork.start({ leaseMaxAgeMs });
    await network.seedBlocks(2);
  });
  afterAll(() => network?.stop());

  it(`comes from ${reservations} reservation(s) of the source, sealed with as many encapsulations`, async () => {
    const used = await twoKeysApart(network, 600);
    expect(new Set(used).size).toBe(reservations);
    // The assignments of one lease share its encapsulation; a new lease encapsulates afresh.
    const sealedWith = kemCiphertexts(network);
    expect(sealedWith).toHaveLength(2);
    expect(new Set(sealedWith).size).toBe(reservations);
  });
});

describe('api-gateway batches', () => {
  let network: GatewayNetwork;
  beforeAll(async () => {
    network = await GatewayNetwork.start({ leaseMaxAgeMs: 300 });
    await network.seedBlocks(2);
  });
  afterAll(() => network?.stop());

  it('answers a batch of another lease while an earlier batch still waits in the ledger', async () => {
    const alice = network.client('sae-alice', 'kme-east');
    const [first] = (await alice.encKeys('sae-bob')).keys;
    const [reservation] = await reservationsOf(network, [first!.key_ID]);
    // Recording a key of this reservation checks it (FOR KEY SHARE), which waits while it is locked here.
    const lock = network.site('kme-east').ledger.dataSource.createQueryRunner();
    await lock.connect();
    await lock.startTransaction();
    await lock.query(`SELECT 1 FROM reservations WHERE id = $1 FOR UPDATE`, [reservation]);
    try {
      let blockedAnswered = false;
      const blocked = alice.encKeys('sae-bob').then((answer) => ((blockedAnswered = true), answer));
      await new Promise((resolve) => setTimeout(resolve, 400));
      // The lease has aged out: this key comes from a new reservation, which nothing holds.
      const [next] = (await alice.encKeys('sae-bob')).keys;
      expect(blockedAnswered).toBe(false);
      expect(await reservationsOf(network, [next!.key_ID])).not.toEqual([reservation]);

      await lock.commitTransaction();
      const [late] = (await blocked).keys;
      expect(await reservationsOf(network, [late!.key_ID])).toEqual([reservation]);
    } finally {
      if (lock.isTransactionActive) await lock.rollbackTransaction();
      await lock.release();
    }
  });
});

describe('api-gateway leases left alone', () => {
  let network: GatewayNetwork;
  beforeAll(async () => {
    // Long enough that the lease is still young when the answer comes, also on a busy machine.
    network = await GatewayNetwork.start({ leaseMaxAgeMs: 2_000 });
    await network.seedBlocks(1);
  });
  afterAll(() => network?.stop());

  it('zeroes the bits a lease still holds once it ages out, though no request comes to replace it', async () => {
    const leased = network.site('kme-east').app.get<Gauge>(metricToken('dqkd_gateway_leased_bytes'));
    const held = async () =>
      (await leased.get()).values.find((value) => value.labels['link'] === 'kme-east->kme-west')?.value;
    expect(await held()).toBe(0);
    await network.client('sae-alice', 'kme-east').encKeys('sae-bob');
    // What the lease held but the key's 256 bits (a lease takes 65536 bits when the pool has them).
    expect(await held()).toBe((65536 - 256) / 8);
    await eventually(async () => (await held()) === 0, 5_000, 'the aged lease to be retired');
  });
});

describe("api-gateway leases near their blocks' deadline", () => {
  let network: GatewayNetwork;
  beforeAll(async () => {
    network = await GatewayNetwork.start();
    // Blocks that the source's reaper burns in 8 s: too soon for a lease, whose last batch must be recorded first.
    await network.seedBlocks(2, 8_000);
  });
  afterAll(() => network?.stop());

  it('are not taken: enc_keys answers 503 and records nothing', async () => {
    const refused = await network
      .client('sae-alice', 'kme-east')
      .encKeys('sae-bob')
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(EtsiHttpError);
    expect((refused as EtsiHttpError).status).toBe(503);
    const [reservations] = (await network
      .site('kme-east')
      .ledger.dataSource.query(`SELECT count(*)::int AS n FROM reservations`)) as { n: number }[];
    expect(reservations.n).toBe(0);
  });
});
