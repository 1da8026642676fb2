import { GatewayNetwork } from './support/gateway-network';

/** Long enough that an answer after the pause is told apart from one after the notification. */
const POLL_MS = 1_000;

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
});
