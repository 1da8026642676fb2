import type { Ledger } from '@dqkd/ledger';

import type { AppProcess } from './support/app-process';
import {
  BLOCK_BITS,
  blocksOf,
  EMPTIED_BY_TEST,
  emptyPool,
  eventually,
  FlowNetwork,
  HIGH_WATERMARK_BITS,
  LOW_WATERMARK_BITS,
} from './support/flow-network';

const FULL = HIGH_WATERMARK_BITS / BLOCK_BITS;
// What a killed replica held comes again after this, rather than after the default 30 s.
const FAST_REDELIVERY = { DQKD_REPLICATION_ACK_WAIT_MS: '3000' };

describe('replication that was down, or killed mid-load', () => {
  let network: FlowNetwork;
  let east: Ledger;
  let west: Ledger;

  beforeAll(async () => {
    network = await FlowNetwork.start();
    await Promise.all([
      network.startApp('key-generator', 'kme-east', { DQKD_GENERATOR_INTERVAL_MS: '100' }),
      network.startApp('replication', 'kme-east'),
    ]);
    east = await network.ledger('kme-east');
    west = await network.ledger('kme-west');
  }, 120_000);

  afterAll(() => network?.stop(), 60_000);

  const inState = async (ledger: Ledger, state: string) =>
    (await blocksOf(ledger)).filter((b) => b.state === state);

  /** Every block kme-east made is settled: ready at both ends with equal material, or burned at kme-east. */
  async function expectSettledAndIdentical(): Promise<void> {
    await eventually(async () => (await inState(east, 'pending')).length === 0, 90_000, 'no pending block');
    const eastBlocks = await blocksOf(east);
    const westBlocks = await blocksOf(west);
    const westIds = new Set(westBlocks.map((b) => b.id));
    expect(westIds.size).toBe(westBlocks.length);
    for (const block of eastBlocks.filter((b) => b.state === 'ready')) {
      expect(westIds.has(block.id)).toBe(true);
      const [a, b] = [await east.blocks.readMaterial(block.id), await west.blocks.readMaterial(block.id)];
      expect(b?.equals(a!)).toBe(true);
    }
    // A block kme-west holds is one kme-east made and did not lose: confirmed, or emptied by this test.
    const eastById = new Map(eastBlocks.map((b) => [b.id, b]));
    for (const block of westBlocks) {
      const source = eastById.get(block.id);
      expect([source?.state, source?.burn_reason ?? null]).toEqual(
        source?.state === 'ready' ? ['ready', null] : ['burned', EMPTIED_BY_TEST],
      );
    }
  }

  it('keeps the pool pending while the peer is down, then catches up once it starts', async () => {
    await eventually(async () => (await inState(east, 'pending')).length === FULL, 30_000, 'a pending pool');
    expect(await inState(east, 'ready')).toHaveLength(0);

    await network.startApp('replication', 'kme-west', FAST_REDELIVERY);

    await eventually(async () => (await inState(east, 'ready')).length === FULL, 60_000, 'the confirmations');
    await expectSettledAndIdentical();
  }, 120_000);

  it('loses and doubles nothing when replication is killed (SIGKILL) or stopped (SIGTERM) mid-load and restarted', async () => {
    let replication: AppProcess | undefined;
    // A crash, then a stop as Kubernetes does it: the stop lets in-flight messages finish, leaves the rest to
    // redelivery, and exits 0 within the grace period.
    for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
      // Emptying the pool makes the generator refill it: a burst of metadata for kme-west.
      await emptyPool(east);
      // Blocks now go from pending to ready within milliseconds, faster than a poll may see: any block made
      // since the pool was emptied shows the refill under way.
      await eventually(
        async () => (await inState(east, 'pending')).length + (await inState(east, 'ready')).length > 0,
        20_000,
        'metadata in flight',
      );
      const running = replication ?? network.running('replication', 'kme-west');
      running.signal(signal);
      const code = await running.exit();
      if (signal === 'SIGTERM') expect(code).toBe(0);
      replication = await network.startApp('replication', 'kme-west', FAST_REDELIVERY);
      // Blocks the killed replica had half-read are rejected; the pool refills only if that took it under
      // its low watermark, so it ends somewhere between the two.
      await eventually(
        async () => (await inState(east, 'ready')).length >= LOW_WATERMARK_BITS / BLOCK_BITS,
        60_000,
        'a refilled pool',
      );
      await expectSettledAndIdentical();
    }
    // A block whose samples the killed replica had read but not yet stored cannot be read again: it is
    // rejected and burned at both ends, never half-used. Nothing else may burn.
    const reasons = new Set((await inState(east, 'burned')).map((b) => b.burn_reason));
    reasons.delete(EMPTIED_BY_TEST);
    reasons.delete('rejected by kme-west: samples-refused');
    expect([...reasons]).toEqual([]);
  }, 240_000);
});
