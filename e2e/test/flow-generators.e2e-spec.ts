import type { Ledger } from '@dqkd/ledger';

import {
  BLOCK_BITS,
  blocksOf,
  emptyPool,
  eventually,
  FlowNetwork,
  HIGH_WATERMARK_BITS,
} from './support/flow-network';

describe('several key-generator replicas of one site', () => {
  let network: FlowNetwork;
  let east: Ledger;

  beforeAll(async () => {
    network = await FlowNetwork.start();
    const fast = { DQKD_GENERATOR_INTERVAL_MS: '50' };
    await Promise.all([
      network.startApp('key-generator', 'kme-east', fast),
      network.startApp('key-generator', 'kme-east', fast),
      network.startApp('key-generator', 'kme-east', fast),
      network.startApp('replication', 'kme-east'),
      network.startApp('replication', 'kme-west'),
    ]);
    east = await network.ledger('kme-east');
  }, 120_000);

  afterAll(() => network?.stop(), 60_000);

  it('fill the pool once, each block made and announced exactly once', async () => {
    const full = HIGH_WATERMARK_BITS / BLOCK_BITS;
    for (let round = 1; round <= 3; round += 1) {
      await eventually(
        async () => (await blocksOf(east)).filter((b) => b.state === 'ready').length >= full,
        60_000,
        'a full pool',
      );
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect((await blocksOf(east)).filter((b) => b.state !== 'burned')).toHaveLength(full);
      // Emptying the pool sets every replica refilling it at once.
      if (round < 3) await emptyPool(east);
    }
    // Give a replica that would over-fill the time to do it.
    await new Promise((resolve) => setTimeout(resolve, 1000));

    const blocks = await blocksOf(east);
    const announced = (await network.streamMessages('DQKD_KME_EAST_OUT')).filter((m) =>
      m.subject.endsWith('.metadata'),
    );
    expect(blocks).toHaveLength(3 * full);
    expect(new Set(announced.map((m) => m.msgId)).size).toBe(announced.length);
    expect(announced.map((m) => m.msgId).sort()).toEqual(blocks.map((b) => `metadata:${b.id}`).sort());
  }, 240_000);

  it('replace a full pool whose blocks near their deadline together, before leases stop taking them', async () => {
    const full = HIGH_WATERMARK_BITS / BLOCK_BITS;
    const ready = async () => (await blocksOf(east)).filter((b) => b.state === 'ready');
    await eventually(async () => (await ready()).length >= full, 60_000, 'a full pool');
    const aging = (await ready()).map((b) => b.id);
    // Five minutes left of an hour's lifetime (the apps' default): less than the tenth a block is replaced at.
    await east.manager.query(
      `UPDATE blocks SET expires_at = now() + interval '5 minutes' WHERE id = ANY ($1::uuid[])`,
      [aging],
    );
    await eventually(async () => (await ready()).length >= 2 * full, 60_000, 'a second full pool');
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const live = (await blocksOf(east)).filter((b) => b.state !== 'burned');
    expect(live).toHaveLength(2 * full);
    expect(live.filter((b) => aging.includes(b.id))).toHaveLength(full);
  }, 180_000);
});
