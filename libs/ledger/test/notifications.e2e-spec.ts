import { DATABASE_MODES } from './support/test-database';
import { useTestLedger } from './support/test-ledger';

/** Resolves once `check` holds, or fails after `ms`. */
async function within(ms: number, check: () => boolean): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe.each(DATABASE_MODES)('shortage notifications on %s', (mode) => {
  const context = useTestLedger(mode);

  it("carry a link's shortage from one process's ledger to another's", async () => {
    const { ledger, connect } = context();
    const other = await connect();
    const heard: [number, number][] = [];
    const stop = await other.onShortage((linkId, bits) => heard.push([linkId, bits]));
    try {
      await ledger.announceShortage(7, 65_536);
      await within(2_000, () => heard.length > 0);
      expect(heard).toEqual([[7, 65_536]]);
    } finally {
      await stop();
    }
  });

  it('are heard again once the connection listening for them was lost', async () => {
    const { ledger, connect } = context();
    const other = await connect();
    const heard: number[] = [];
    const stop = await other.onShortage((_, bits) => heard.push(bits));
    try {
      const listening = async () =>
        (await ledger.manager.query(
          `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN dqkd_pool_short%' AND pid <> pg_backend_pid()`,
        )) as { pid: number }[];
      const [before] = await listening();
      expect(before).toBeDefined();
      await ledger.manager.query('SELECT pg_terminate_backend($1)', [before!.pid]);
      // Sent until a new connection listens: those sent in between are lost, as the callers allow for.
      let bits = 0;
      await within(5_000, () => {
        void ledger.announceShortage(1, (bits += 8));
        return heard.length > 0;
      });
      const [after] = await listening();
      expect(after?.pid).not.toBe(before!.pid);
    } finally {
      await stop();
    }
    expect(await other.manager.query('SELECT 1 AS ok')).toEqual([{ ok: 1 }]);
  });
});
