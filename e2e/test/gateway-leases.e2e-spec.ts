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

  it(`comes from ${reservations} reservation(s) of the source`, async () => {
    const used = await twoKeysApart(network, 600);
    expect(new Set(used).size).toBe(reservations);
  });
});
