import { randomUUID } from 'node:crypto';

import { LEASE_MARGIN_MS, rejectedBurnReason, UNCONFIRMED_BURN_REASON } from '../src/store/block-store';
import { Slave } from '../src/store/types';
import { DATABASE_MODES, withClient } from './support/test-database';
import { inAnHour, newLink, readyBlocks, useTestLedger } from './support/test-ledger';

describe.each(DATABASE_MODES)('reaping expired keys and blocks on %s', (mode) => {
  const context = useTestLedger(mode);

  /** A 64-bit key for Bob at `offset` of a reservation. */
  const key64 = (linkId: number, reservationId: string, offset: number, expiresAt: Date) => ({
    keyId: randomUUID(),
    linkId,
    masterSaeId: 'sae-alice',
    size: 64,
    reservationId,
    offset,
    expiresAt,
    slaves: [{ kind: 'sae' as const, id: 'sae-bob' }],
  });

  it('prunes audit events past the retention, oldest first and at most a batch, by the database clock', async () => {
    const { ledger } = context();
    const tag = randomUUID();
    // Ten and nine days old, and one just inside eight days: with eight days' retention the first two go.
    for (const age of ['10 days', '9 days', '7 days 23 hours'])
      await ledger.manager.query(
        `INSERT INTO audit_events (event, reason, occurred_at) VALUES ('block-burned', $1, now() - $2::interval)`,
        [tag, age],
      );
    /** The ages in whole days of this test's events left, oldest first. */
    const left = async () =>
      (
        (await ledger.manager.query(
          `SELECT extract(day FROM now() - occurred_at)::int AS days FROM audit_events WHERE reason = $1
           ORDER BY occurred_at`,
          [tag],
        )) as { days: number }[]
      ).map((row) => row.days);
    // Other tests' events are all younger: only these can go.
    expect(await ledger.audit.prune(8, 1)).toBe(1);
    expect(await left()).toEqual([9, 7]);
    expect(await ledger.audit.prune(8, 1000)).toBe(1);
    expect(await left()).toEqual([7]);
    expect(await ledger.audit.prune(8, 1000)).toBe(0);
  });

  it('deletes expired keys and blocks with their material and answers the counts', async () => {
    const { ledger } = context();
    const link = await newLink(ledger, 512);
    const now = Date.now();
    const [liveBlock] = await readyBlocks(ledger, link, 1, 512, new Date(now + 600_000));
    const [expiredBlock] = await readyBlocks(ledger, link, 1, 512, new Date(now - 1_000));
    const targetId = randomUUID();
    await ledger.blocks.store({
      id: targetId,
      linkId: link.id,
      role: 'target',
      state: 'ready',
      bits: 512,
      material: Buffer.alloc(64, 7),
      metadata: Buffer.from('m'),
      expiresAt: new Date(now - 1_000),
    });
    const reserved = await ledger.reservations.reserve(link.id, 256);
    if (!reserved.ok) {
      throw new Error('reservation failed');
    }
    const key = (offset: number, expiresAt: Date) => ({
      ...key64(link.id, reserved.reservation.id, offset, expiresAt),
      material: Buffer.alloc(8, 9),
    });
    const expiredKeys = [key(0, new Date(now - 1)), key(64, new Date(now - 5))];
    const liveKey = key(128, inAnHour());
    await ledger.keys.record([...expiredKeys, liveKey]);
    // A target's keys go once their bits are zeroed in its blocks.
    await scrubAll();

    const reaped = await ledger.reapExpired({ now: new Date(now), targetGraceMs: 60_000 });
    expect(reaped).toMatchObject({ keys: 2, blocks: 1 });
    expect(await ledger.keys.find([...expiredKeys, liveKey].map((k) => k.keyId))).toEqual([
      expect.objectContaining({ keyId: liveKey.keyId }),
    ]);
    // The three keys lie back to back: one group, kept for the live key.
    expect(await groupsOf(reserved.reservation.id)).toEqual([{ first_offset: 0, key_count: 3, keys: 1 }]);
    expect(await ledger.blocks.find(expiredBlock.id)).toBeUndefined();
    expect(await ledger.blocks.find(liveBlock.id)).toBeDefined();
    expect((await ledger.blocks.find(targetId))?.hasMaterial).toBe(true);

    const afterGrace = await ledger.reapExpired({ now: new Date(now + 60_000), targetGraceMs: 60_000 });
    expect(afterGrace).toMatchObject({ keys: 0, blocks: 1 });
    expect(await ledger.blocks.find(targetId)).toBeUndefined();
    expect(await ledger.reapExpired({ now: new Date(now + 60_000), targetGraceMs: 60_000 })).toEqual({
      keys: 0,
      keysWaiting: 0,
      blocks: 0,
      reservations: 0,
    });
    const events = await ledger.audit.about(expiredKeys[0].keyId);
    expect(events.map((event) => event.event)).toEqual(['key-issued', 'key-expired']);
  });

  it('counts in block-expired only the bits not counted already by a burn', async () => {
    const { ledger } = context();
    const link = await newLink(ledger, 512);
    const now = Date.now();
    const [burned, unused] = await readyBlocks(ledger, link, 2, 512, new Date(now - 1_000));
    expect(await ledger.blocks.burn(burned!.id, 'unconfirmed by the target')).toBe(true);
    expect(await ledger.reapExpired({ now: new Date(now), targetGraceMs: 0 })).toMatchObject({ blocks: 2 });
    const events = await ledger.audit.about(burned!.id);
    const burn = events.find(({ event }) => event === 'block-burned');
    const burnedExpiry = events.find(({ event }) => event === 'block-expired');
    expect(burn?.bits).toBe(512);
    expect(burnedExpiry?.bits).toBe(512);
    // One event for the link's two blocks: the unused block's 512 bits, not the burned one's again.
    expect(burnedExpiry?.blockIds).toEqual(expect.arrayContaining([burned!.id, unused!.id]));
  });

  /** Zeroes the bits of every key group not zeroed yet, as the ttl-reaper does before it reaps. */
  async function scrubAll(): Promise<void> {
    for (let round = 0; (await context().ledger.scrubKeyBits(1000)).groups > 0; round++) {
      if (round > 10) throw new Error('key groups are left not zeroed');
    }
  }

  /** The key groups of a reservation with the keys left in each. */
  const groupsOf = (reservationId: string) =>
    context().ledger.dataSource.query(
      `SELECT g.first_offset, g.key_count, (SELECT count(*)::int FROM keys k WHERE k.group_id = g.id) AS keys
       FROM key_groups g WHERE g.reservation_id = $1 ORDER BY g.first_offset`,
      [reservationId],
    );

  it('deletes a key group with the last of its keys', async () => {
    const { ledger } = context();
    const link = await newLink(ledger, 512);
    await readyBlocks(ledger, link, 1, 512, inAnHour());
    const reserved = await ledger.reservations.reserve(link.id, 512);
    if (!reserved.ok) {
      throw new Error('reservation failed');
    }
    const key = (offset: number, expiresAt: Date) =>
      key64(link.id, reserved.reservation.id, offset, expiresAt);
    const past = new Date(Date.now() - 1);
    await ledger.keys.record([key(0, past), key(64, past), key(192, past), key(256, inAnHour())]);
    expect(await groupsOf(reserved.reservation.id)).toEqual([
      { first_offset: 0, key_count: 2, keys: 2 },
      { first_offset: 192, key_count: 2, keys: 2 },
    ]);
    expect(await ledger.reapExpired({ now: new Date(), targetGraceMs: 0 })).toMatchObject({ keys: 3 });
    expect(await groupsOf(reserved.reservation.id)).toEqual([{ first_offset: 192, key_count: 2, keys: 1 }]);
  });

  /**
   * One key with material (a target's), expired a moment ago, on a fresh reservation of a fresh link, for
   * `slaves`; its bits in the block zeroed unless `scrubbed` is false.
   */
  async function expiredKey(slaves: readonly Slave[], { scrubbed = true } = {}): Promise<string> {
    const { ledger } = context();
    const link = await newLink(ledger, 256);
    await readyBlocks(ledger, link, 1, 256, inAnHour());
    const reserved = await ledger.reservations.reserve(link.id, 64);
    if (!reserved.ok) {
      throw new Error('reservation failed');
    }
    const keyId = randomUUID();
    await ledger.keys.record([
      {
        keyId,
        linkId: link.id,
        masterSaeId: 'sae-alice',
        size: 64,
        reservationId: reserved.reservation.id,
        offset: 0,
        expiresAt: new Date(Date.now() - 1),
        slaves,
        material: Buffer.alloc(8, 5),
      },
    ]);
    if (scrubbed) await scrubAll();
    return keyId;
  }

  it('leaves a key to the next round while a delivery holds its slave entries, instead of waiting for it', async () => {
    const { ledger, database } = context();
    const key = {
      keyId: await expiredKey([
        { kind: 'sae', id: 'sae-bob' },
        { kind: 'sae', id: 'sae-carol' },
      ]),
    };
    await withClient(database.url, async (delivery) => {
      // What KeyStore.settle does in one statement, split so that the reaper runs in between: lock the key's
      // slave entries, then drop the key's material. Had the reaper waited for the entries while holding the
      // key row, the second step would deadlock with it.
      await delivery.query('BEGIN');
      await delivery.query('SELECT 1 FROM key_slaves WHERE key_id = $1 FOR UPDATE', [key.keyId]);
      let open = true;
      try {
        const reaped = ledger.reapExpired({ now: new Date(), targetGraceMs: 60_000 });
        const waited = new Promise<'waited'>((resolve) => setTimeout(() => resolve('waited'), 5_000).unref());
        expect(await Promise.race([reaped.then(() => 'done'), waited])).toBe('done');
        await delivery.query(
          `UPDATE keys SET material_ciphertext = NULL, material_wrapped_key = NULL, material_kek_id = NULL
           WHERE key_id = $1`,
          [key.keyId],
        );
        await delivery.query('COMMIT');
        open = false;
      } finally {
        // A failed step leaves the transaction open, and the reaper waiting on it.
        if (open) await delivery.query('ROLLBACK');
      }
    });
    expect(await ledger.keys.find([key.keyId])).toHaveLength(1);
    expect(
      (await ledger.reapExpired({ now: new Date(), targetGraceMs: 60_000 })).keys,
    ).toBeGreaterThanOrEqual(1);
    expect(await ledger.keys.find([key.keyId])).toEqual([]);
  });

  it("leaves an expired key to a later call until its bits are zeroed in the site's blocks", async () => {
    const { ledger } = context();
    const keyId = await expiredKey([{ kind: 'sae', id: 'sae-bob' }], { scrubbed: false });
    const reap = () => ledger.reapExpired({ now: new Date(), targetGraceMs: 60_000 });
    expect(await reap()).toMatchObject({ keys: 0, keysWaiting: 1 });
    // Its row stays, to tell the scrub where its bits are; its material is gone already.
    expect(await ledger.keys.find([keyId])).toHaveLength(1);
    expect(await ledger.keys.readMaterial(keyId)).toBeUndefined();
    expect(await reap()).toMatchObject({ keys: 0, keysWaiting: 0 });
    await scrubAll();
    await reap();
    expect(await ledger.keys.find([keyId])).toEqual([]);
  });

  it('deletes a reservation once neither keys nor blocks refer to it, with the key groups left empty', async () => {
    const { ledger } = context();
    const link = await newLink(ledger, 256);
    const [block] = await readyBlocks(ledger, link, 1, 256, new Date(Date.now() + 60_000));
    const reserved = await ledger.reservations.reserve(link.id, 128);
    if (!reserved.ok) {
      throw new Error('reservation failed');
    }
    // What two reaper replicas that each deleted part of one group's keys leave: a group without keys.
    await ledger.dataSource.query(
      `INSERT INTO key_groups (id, reservation_id, reservation_bits, first_offset, key_size, key_count)
       VALUES ($1, $2, 128, 0, 64, 2)`,
      [randomUUID(), reserved.reservation.id],
    );
    const counts = await ledger.reapExpired({ now: new Date(Date.now() + 120_000), targetGraceMs: 0 });
    expect(counts.blocks).toBeGreaterThanOrEqual(1);
    expect(counts.reservations).toBeGreaterThanOrEqual(1);
    expect(await ledger.blocks.find(block.id)).toBeUndefined();
    expect(await ledger.reservations.find(reserved.reservation.id)).toBeUndefined();
    expect(await groupsOf(reserved.reservation.id)).toEqual([]);
  });

  it('burns a block: material gone, reason kept, no longer claimable', async () => {
    const { ledger } = context();
    const link = await newLink(ledger, 256);
    const [block] = await readyBlocks(ledger, link, 1);
    expect(await ledger.blocks.burn(block.id, 'kcv mismatch')).toBe(true);
    expect(await ledger.blocks.burn(block.id, 'again')).toBe(false);
    expect(await ledger.blocks.find(block.id)).toMatchObject({
      state: 'burned',
      burnReason: 'kcv mismatch',
      hasMaterial: false,
    });
    expect(await ledger.blocks.readMaterial(block.id)).toBeUndefined();
    expect(await ledger.reservations.reserve(link.id, 8)).toMatchObject({ ok: false, availableBits: 0 });
  });

  it('leaves out of the pool the ready bits of blocks within the lease margin of their deadline', async () => {
    const { ledger } = context();
    const link = await newLink(ledger, 256);
    await readyBlocks(ledger, link, 1, 256, new Date(Date.now() + LEASE_MARGIN_MS / 2));
    await readyBlocks(ledger, link, 1, 256, new Date(Date.now() + 2 * LEASE_MARGIN_MS));
    expect(await ledger.blocks.readyBits(link.id)).toBe(256);
  });

  it('burns a block only from the state asked for, when one is', async () => {
    const { ledger } = context();
    const link = await newLink(ledger, 256);
    const [ready] = await readyBlocks(ledger, link, 1, 256);
    expect(await ledger.blocks.burn(ready.id, 'unconfirmed', 'pending')).toBe(false);
    expect(await ledger.blocks.find(ready.id)).toMatchObject({ state: 'ready', hasMaterial: true });
    expect(await ledger.blocks.burn(ready.id, 'rejected', 'ready')).toBe(true);
    expect(await ledger.blocks.find(ready.id)).toMatchObject({ state: 'burned', burnReason: 'rejected' });
  });

  it('marks a pending block ready once', async () => {
    const { ledger } = context();
    const link = await newLink(ledger, 256);
    const id = randomUUID();
    const block = {
      id,
      linkId: link.id,
      role: 'source' as const,
      state: 'pending' as const,
      bits: 256,
      material: Buffer.alloc(32, 3),
      metadata: Buffer.from('m'),
      expiresAt: inAnHour(),
    };
    expect(await ledger.blocks.store(block)).toBe(true);
    expect(await ledger.blocks.store(block)).toBe(false);
    expect(await ledger.blocks.readyBits(link.id)).toBe(0);
    expect(await ledger.blocks.markReady(id)).toBe(true);
    expect(await ledger.blocks.markReady(id)).toBe(false);
    expect(await ledger.blocks.readyBits(link.id)).toBe(256);
  });

  // The key-generator probes, one block at a time, a link whose target does not answer or rejects what it gets.
  it('tells a link unanswered once its newest settled block was burned unconfirmed or rejected, until one confirms', async () => {
    const { ledger } = context();
    const link = await newLink(ledger, 256);
    const pending = async () => {
      const id = randomUUID();
      await ledger.blocks.store({
        id,
        linkId: link.id,
        role: 'source',
        state: 'pending',
        bits: 256,
        material: Buffer.alloc(32, 5),
        metadata: Buffer.from('m'),
        expiresAt: inAnHour(),
      });
      return id;
    };
    expect(await ledger.blocks.markReady(await pending())).toBe(true);
    expect(await ledger.blocks.answerOf(link.id)).toEqual({ unanswered: false, pending: 0 });
    expect(await ledger.blocks.burn(await pending(), rejectedBurnReason('kme-west', 'samples-refused'))).toBe(
      true,
    );
    expect(await ledger.blocks.answerOf(link.id)).toEqual({ unanswered: true, pending: 0 });
    const probe = await pending();
    expect(await ledger.blocks.answerOf(link.id)).toEqual({ unanswered: true, pending: 1 });
    expect(await ledger.blocks.markReady(probe)).toBe(true);
    expect(await ledger.blocks.answerOf(link.id)).toEqual({ unanswered: false, pending: 0 });
    expect(await ledger.blocks.burn(await pending(), UNCONFIRMED_BURN_REASON)).toBe(true);
    expect(await ledger.blocks.answerOf(link.id)).toEqual({ unanswered: true, pending: 0 });
    // Burned for another reason (at its deadline, say): not the target's silence or refusal.
    expect(await ledger.blocks.markReady(await pending())).toBe(true);
    expect(await ledger.blocks.burn(await pending(), 'test')).toBe(true);
    expect(await ledger.blocks.answerOf(link.id)).toEqual({ unanswered: false, pending: 0 });
  });
});
