import type { Ledger } from '@dqkd/ledger';

import { BLOCK_BITS, blocksOf, eventually, FlowNetwork, HIGH_WATERMARK_BITS } from './support/flow-network';

describe('pool filling and replication between two sites in one process on the in-process bus', () => {
  let network: FlowNetwork;

  beforeAll(async () => {
    network = await FlowNetwork.start();
    await network.startInProcess([
      ['replication', 'kme-west'],
      ['replication', 'kme-east'],
      ['key-generator', 'kme-east'],
    ]);
  }, 120_000);

  afterAll(() => network?.stop(), 60_000);

  const readyAt = async (ledger: Ledger) => (await blocksOf(ledger)).filter((b) => b.state === 'ready');

  it('makes blocks ready at both ends with bit-identical material', async () => {
    const [east, west] = [await network.ledger('kme-east'), await network.ledger('kme-west')];
    const full = HIGH_WATERMARK_BITS / BLOCK_BITS;
    await eventually(async () => (await readyAt(east)).length === full, 60_000, 'a full pool at kme-east');

    for (const { id } of await readyAt(east)) {
      const [a, b] = [await east.blocks.readMaterial(id), await west.blocks.readMaterial(id)];
      expect(a?.length).toBe(BLOCK_BITS / 8);
      expect(b?.equals(a!)).toBe(true);
    }
    expect((await readyAt(west)).every((b) => b.role === 'target')).toBe(true);
  }, 90_000);
});
