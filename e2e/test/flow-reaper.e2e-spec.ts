import { randomBytes, randomUUID } from 'node:crypto';

import type { Ledger } from '@dqkd/ledger';

import { alterAtRest } from '../../libs/ledger/test/support/alter-at-rest';
import type { AppProcess } from './support/app-process';
import { eventually, FlowNetwork } from './support/flow-network';

const BITS = 512;

describe('ttl-reaper', () => {
  let network: FlowNetwork;
  let east: Ledger;

  beforeAll(async () => {
    network = await FlowNetwork.start();
    east = await network.ledger('kme-east');
  }, 120_000);

  afterAll(() => network?.stop(), 60_000);

  /** The reapers a test started, stopped after it so that the next test's reapers work alone. */
  let running: AppProcess[] = [];
  const startReaper = async (settings: Record<string, string>) => {
    const reaper = await network.startApp('ttl-reaper', 'kme-east', settings);
    running.push(reaper);
    return reaper;
  };
  afterEach(async () => {
    running.forEach((reaper) => reaper.signal('SIGTERM'));
    await Promise.all(running.map((reaper) => reaper.exit()));
    running = [];
  });

  async function block(linkId: number, role: 'source' | 'target', expiresAt: Date): Promise<string> {
    const id = randomUUID();
    await east.blocks.store({
      id,
      linkId,
      role,
      state: 'ready',
      bits: BITS,
      material: randomBytes(BITS / 8),
      metadata: Buffer.from('sealed metadata'),
      expiresAt,
    });
    return id;
  }

  const reapedIn = (reapers: AppProcess[]) =>
    reapers
      .flatMap((reaper) => [...reaper.text.matchAll(/reaped (\d+) expired key\(s\), (\d+) block\(s\)/g)])
      .reduce(
        (sum, [, keys, blocks]) => ({ keys: sum.keys + Number(keys), blocks: sum.blocks + Number(blocks) }),
        {
          keys: 0,
          blocks: 0,
        },
      );

  it('deletes expired keys and blocks at its site, two replicas counting each once', async () => {
    const outgoing = await east.links.ensure('kme-east', 'kme-west', BITS);
    const incoming = await east.links.ensure('kme-west', 'kme-east', BITS);
    const now = Date.now();
    const live = await block(outgoing.id, 'source', new Date(now + 3_600_000));
    const expired = [
      ...(await Promise.all([1, 2, 3, 4, 5].map(() => block(outgoing.id, 'source', new Date(now - 1000))))),
      // Past the target's grace period too.
      ...(await Promise.all([1, 2].map(() => block(incoming.id, 'target', new Date(now - 10_000))))),
    ];
    const reserved = await east.reservations.reserve(outgoing.id, 256);
    if (!reserved.ok) throw new Error('no reservation');
    const key = (offset: number, expiresAt: Date) => ({
      keyId: randomUUID(),
      linkId: outgoing.id,
      masterSaeId: 'sae-alice',
      size: 64,
      reservationId: reserved.reservation.id,
      offset,
      expiresAt,
      slaves: [{ kind: 'sae' as const, id: 'sae-bob' }],
    });
    const expiredKeys = [0, 64, 128].map((offset) => key(offset, new Date(now - 1)));
    const liveKey = key(192, new Date(now + 3_600_000));
    await east.keys.record([...expiredKeys, liveKey]);

    const settings = {
      DQKD_REAPER_INTERVAL_MS: '100',
      DQKD_REAPER_BATCH_SIZE: '2',
      DQKD_TARGET_GRACE_MS: '5000',
    };
    const reapers = await Promise.all([startReaper(settings), startReaper(settings)]);

    await eventually(
      async () => reapedIn(reapers).keys === 3 && reapedIn(reapers).blocks === expired.length,
      20_000,
      'both replicas to report the expired keys and blocks',
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(reapedIn(reapers)).toEqual({ keys: 3, blocks: expired.length });
    for (const id of expired) expect(await east.blocks.find(id)).toBeUndefined();
    expect(await east.keys.find(expiredKeys.map((k) => k.keyId))).toEqual([]);
    expect((await east.blocks.find(live))?.hasMaterial).toBe(true);
    expect(await east.keys.find([liveKey.keyId])).toHaveLength(1);
  }, 60_000);

  /** The value of a counter of the reaper's, read from its metrics over HTTP; one of its labels picks the series. */
  async function counterOf(reaper: AppProcess, name: string, label: string): Promise<number> {
    const base = /health on (\S+)\/health\/ready/.exec(reaper.text)?.[1];
    const text = await (await fetch(`${base}/metrics`)).text();
    const value = new RegExp(`^${name}\\{[^}]*${label}[^}]*\\} (\\S+)$`, 'm').exec(text)?.[1];
    return Number(value);
  }

  /** A block held at this site as the target, with a key on its bits 64..192 as replication records it. */
  async function targetKey(expiresAt: Date) {
    const incoming = await east.links.ensure('kme-west', 'kme-east', BITS);
    const material = randomBytes(BITS / 8);
    const blockId = randomUUID();
    await east.blocks.store({
      id: blockId,
      linkId: incoming.id,
      role: 'target',
      state: 'ready',
      bits: BITS,
      material,
      metadata: Buffer.from('sealed metadata'),
      expiresAt: new Date(Date.now() + 3_600_000),
    });
    const reservation = {
      id: randomUUID(),
      linkId: incoming.id,
      bits: 128,
      segments: [{ blockId, start: 64, end: 192 }],
    };
    await east.reservations.record(reservation);
    const keyId = randomUUID();
    await east.keys.record([
      {
        keyId,
        linkId: incoming.id,
        masterSaeId: 'sae-bob',
        size: 128,
        reservationId: reservation.id,
        offset: 0,
        expiresAt,
        slaves: [{ kind: 'sae', id: 'sae-alice' }],
        material: material.subarray(8, 24),
      },
    ]);
    return { blockId, material, keyId };
  }

  it('forgets message IDs processed and messages sent longer ago than the inbox retention', async () => {
    const tag = `sent-${randomUUID()}`;
    const processed = `processed-${randomUUID()}`;
    // More sent messages than a batch of the reaper: its first round deletes them all, in batches.
    for (let n = 0; n < 5; n += 1)
      await east.outbox.append('dqkd.kme-east.out.kme-west.metadata', `${tag}-${n}`, Buffer.from('sealed'));
    await east.processOnce(processed, 'dqkd.kme-west.out.kme-east.metadata', async () => 'applied');
    await east.manager.query(
      `UPDATE outbox_messages SET published_at = now() - interval '4 hours' WHERE msg_id LIKE $1`,
      [`${tag}-%`],
    );
    await east.manager.query(
      `UPDATE processed_messages SET processed_at = now() - interval '4 hours' WHERE message_id = $1`,
      [processed],
    );
    // One round only within the test's wait.
    await startReaper({ DQKD_REAPER_INTERVAL_MS: '600000', DQKD_REAPER_BATCH_SIZE: '2' });
    const count = async (sql: string, id: string) =>
      ((await east.manager.query(sql, [id])) as unknown[]).length;
    await eventually(
      async () =>
        (await count('SELECT 1 FROM outbox_messages WHERE msg_id LIKE $1', `${tag}-%`)) +
          (await count('SELECT 1 FROM processed_messages WHERE message_id = $1', processed)) ===
        0,
      20_000,
      'the reaper to prune the outbox and the inbox',
    );
  });

  it('deletes audit events past the retention (90 days by default), and keeps younger ones', async () => {
    const tag = `audit-${randomUUID()}`;
    for (const age of ['100 days', '89 days'])
      await east.manager.query(
        `INSERT INTO audit_events (event, reason, occurred_at) VALUES ('block-burned', $1, now() - $2::interval)`,
        [tag, age],
      );
    const ages = async () =>
      (
        (await east.manager.query(
          `SELECT extract(day FROM now() - occurred_at)::int AS days FROM audit_events WHERE reason = $1`,
          [tag],
        )) as { days: number }[]
      ).map((row) => row.days);
    const reaper = await startReaper({ DQKD_REAPER_INTERVAL_MS: '600000' });
    await reaper.waitFor('audit event(s) older than 90 days (DQKD_AUDIT_RETENTION_DAYS)');
    expect(await ages()).toEqual([89]);
  });

  it("zeroes a recorded key's bits in the target's copy of its block, and no other bit", async () => {
    const { blockId, material, keyId } = await targetKey(new Date(Date.now() + 3_600_000));
    const reaper = await startReaper({ DQKD_REAPER_INTERVAL_MS: '100' });
    const expected = Buffer.from(material).fill(0, 8, 24);
    await eventually(
      async () => (await east.blocks.readMaterial(blockId))?.equals(expected) === true,
      20_000,
      "the key's bits to be zeroed in the block",
    );
    expect(
      await counterOf(reaper, 'dqkd_reaper_scrubbed_blocks_total', 'outcome="zeroed"'),
    ).toBeGreaterThanOrEqual(1);
    // The key itself is whole, in its own row.
    expect(await east.keys.deliver([keyId], { kind: 'sae', id: 'sae-alice' })).toEqual({
      ok: true,
      keys: [{ keyId, material: material.subarray(8, 24) }],
    });
  }, 60_000);

  it('still reaps expired keys when a block whose bits it should zero does not open', async () => {
    const { blockId, keyId } = await targetKey(new Date(Date.now() - 1));
    await alterAtRest(east, 'blocks', [blockId]);
    const reaper = await startReaper({ DQKD_REAPER_INTERVAL_MS: '100' });
    await eventually(
      async () => (await east.keys.find([keyId])).length === 0,
      20_000,
      'the expired key to be reaped',
    );
    await eventually(
      async () => reaper.text.includes(`could not zero recorded keys' bits in block ${blockId}`),
      20_000,
      'the reaper to name the block it could not scrub',
    );
    expect(
      await counterOf(reaper, 'dqkd_reaper_scrubbed_blocks_total', 'outcome="failed"'),
    ).toBeGreaterThanOrEqual(1);
  }, 60_000);

  it("goes on past more groups than a round's batches take whose blocks keep failing, to newer groups", async () => {
    // Blocks under a KEK version the reaper's keyring lacks: tried again in every pass, never given up on.
    const failing: string[] = [];
    for (let i = 0; i < 101; i += 1)
      failing.push((await targetKey(new Date(Date.now() + 3_600_000))).blockId);
    await east.dataSource.query(`UPDATE blocks SET material_kek_id = 99 WHERE id = ANY ($1::uuid[])`, [
      failing,
    ]);
    const { blockId, material } = await targetKey(new Date(Date.now() + 3_600_000));
    // One group a batch: a round takes 100 of them, all failing ones, if it starts from the oldest.
    await startReaper({ DQKD_REAPER_INTERVAL_MS: '100', DQKD_REAPER_BATCH_SIZE: '1' });
    const expected = Buffer.from(material).fill(0, 8, 24);
    await eventually(
      async () => (await east.blocks.readMaterial(blockId))?.equals(expected) === true,
      20_000,
      "the newest key's bits to be zeroed",
    );
  }, 60_000);
});
