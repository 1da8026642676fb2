import type { Ledger } from '../src/ledger';
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

/** The backend of the other connection LISTENing to `channel` in this database. */
async function listening(ledger: Ledger, channel: string): Promise<number | undefined> {
  const rows = (await ledger.manager.query(
    `SELECT pid FROM pg_stat_activity
     WHERE datname = current_database() AND query = $1 AND pid <> pg_backend_pid()`,
    [`LISTEN ${channel}`],
  )) as { pid: number }[];
  return rows[0]?.pid;
}

describe.each(DATABASE_MODES)('ledger notifications on %s', (mode) => {
  const context = useTestLedger(mode);

  it("carry a link's pool shortage from one process's ledger to another's", async () => {
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

  it('carry shortages again once the connection listening for them was lost', async () => {
    const { ledger, connect } = context();
    const other = await connect();
    const heard: number[] = [];
    const stop = await other.onShortage((_, bits) => heard.push(bits));
    try {
      const before = await listening(ledger, 'dqkd_pool_short');
      expect(before).toBeDefined();
      await ledger.manager.query('SELECT pg_terminate_backend($1)', [before]);
      // Sent until a new connection listens: those sent in between are lost, as the callers allow for.
      let bits = 0;
      await within(5_000, () => {
        void ledger.announceShortage(1, (bits += 8));
        return heard.length > 0;
      });
      expect(await listening(ledger, 'dqkd_pool_short')).not.toBe(before);
    } finally {
      await stop();
    }
    expect(await other.manager.query('SELECT 1 AS ok')).toEqual([{ ok: 1 }]);
  });

  it('call a keys-recorded listener once listening again after a lost connection, as the notifications missed meanwhile ask', async () => {
    const { ledger, connect } = context();
    const other = await connect();
    let heard = 0;
    const stop = await other.onKeysRecorded(() => (heard += 1));
    try {
      const pid = await listening(ledger, 'dqkd_keys_recorded');
      expect(pid).toBeDefined();
      await ledger.manager.query('SELECT pg_terminate_backend($1)', [pid]);
      // Nothing is recorded meanwhile: the call comes from listening again.
      await within(5_000, () => heard > 0);
      expect(await listening(ledger, 'dqkd_keys_recorded')).not.toBe(pid);
    } finally {
      await stop();
    }
  });
});
