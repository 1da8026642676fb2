import { randomUUID } from 'node:crypto';

import { LedgerConflictError } from '../src/errors';
import type { Link, Reservation } from '../src/store/types';
import { DATABASE_MODES } from './support/test-database';
import { inAnHour, newLink, readyBlocks, useTestLedger } from './support/test-ledger';

describe.each(DATABASE_MODES)('ledger constraints on %s', (mode) => {
  const context = useTestLedger(mode);

  /** A link with one 1024-bit block and a reservation of its first 256 bits, made by the ledger itself. */
  async function reservedBlock() {
    const { ledger } = context();
    const link = await newLink(ledger, 1024);
    const [block] = await readyBlocks(ledger, link, 1);
    const reserved = await ledger.reservations.reserve(link.id, 256);
    if (!reserved.ok) {
      throw new Error('reservation failed');
    }
    return { link, block, reservation: reserved.reservation };
  }

  /** A 64-bit key of `reservation` at `offset` for Bob (or the given slaves), on the reservation's link. */
  const key64 = (
    reservation: { id: string; linkId: number },
    offset: number,
    overrides: { linkId?: number; reservationId?: string; slaves?: string[] } = {},
  ) => ({
    keyId: randomUUID(),
    linkId: overrides.linkId ?? reservation.linkId,
    masterSaeId: 'sae-alice',
    size: 64,
    reservationId: overrides.reservationId ?? reservation.id,
    offset,
    expiresAt: inAnHour(),
    slaves: (overrides.slaves ?? ['sae-bob']).map((id) => ({ kind: 'sae' as const, id })),
  });

  /** Raw SQL straight to the tables, bypassing every check of the ledger's code. */
  const rawReservation = async (linkId: number, blockId: string, range: string) => {
    const id = randomUUID();
    await context().ledger.dataSource.transaction(async (tx) => {
      await tx.query(`INSERT INTO reservations (id, link_id, bits) VALUES ($1, $2, 1)`, [id, linkId]);
      await tx.query(
        `INSERT INTO bit_ranges (reservation_id, ordinal, block_id, block_bits, bits) VALUES ($1, 0, $2, 1024, $3)`,
        [id, blockId, range],
      );
    });
  };

  /** A key group straight into the table: `count` keys of `size` bits from `first` on. */
  const rawGroup = async (reservationId: string, first: number, size: number, count: number, bits = 256) => {
    const id = randomUUID();
    await context().ledger.dataSource.query(
      `INSERT INTO key_groups (id, reservation_id, reservation_bits, first_offset, key_size, key_count)
       VALUES ($1, $2, $3, $4, $5, $6)`,
      [id, reservationId, bits, first, size, count],
    );
    return id;
  };

  /** A key in slot `ordinal` of a group straight into the table, saying what it claims about its group. */
  const rawKey = (
    linkId: number,
    group: { id: string; first: number; size: number; count: number },
    ordinal: number,
    overrides: { keyId?: string; offset?: number } = {},
  ) =>
    context().ledger.dataSource.query(
      `INSERT INTO keys (key_id, link_id, master_sae_id, size, reservation_id, reservation_bits, reservation_offset,
         group_id, group_ordinal, group_first_offset, group_key_count, expires_at)
       SELECT $1, $2, 'sae-alice', $3, reservation_id, reservation_bits, $4, id, $5, $6, $7, now()
       FROM key_groups WHERE id = $8`,
      [
        overrides.keyId ?? randomUUID(),
        linkId,
        group.size,
        overrides.offset ?? group.first + ordinal * group.size,
        ordinal,
        group.first,
        group.count,
        group.id,
      ],
    );

  it('rejects overlapping bit ranges of one block even from raw SQL', async () => {
    const { link, block } = await reservedBlock();
    await expect(rawReservation(link.id, block.id, '[255,300)')).rejects.toThrow(/bit_ranges_disjoint/);
    await expect(rawReservation(link.id, block.id, '[0,1)')).rejects.toThrow(/bit_ranges_disjoint/);
    await expect(rawReservation(link.id, block.id, '[256,300)')).resolves.toBeUndefined();
  });

  it('rejects empty, unbounded and out-of-block ranges from raw SQL', async () => {
    const { link, block } = await reservedBlock();
    await expect(rawReservation(link.id, block.id, '[400,400)')).rejects.toThrow(/bit_ranges_not_empty/);
    await expect(rawReservation(link.id, block.id, '[1000,1025)')).rejects.toThrow(/bit_ranges_inside_block/);
    await expect(rawReservation(link.id, block.id, '[-8,0)')).rejects.toThrow(/bit_ranges_inside_block/);
    await expect(rawReservation(link.id, block.id, '[900,)')).rejects.toThrow(/bit_ranges_inside_block/);
  });

  it('rejects a range that lies about the size of its block', async () => {
    const { link, block } = await reservedBlock();
    const id = randomUUID();
    const attempt = context().ledger.dataSource.transaction(async (tx) => {
      await tx.query(`INSERT INTO reservations (id, link_id, bits) VALUES ($1, $2, 1)`, [id, link.id]);
      await tx.query(
        `INSERT INTO bit_ranges (reservation_id, ordinal, block_id, block_bits, bits)
         VALUES ($1, 0, $2, 4096, '[2000,2100)')`,
        [id, block.id],
      );
    });
    await expect(attempt).rejects.toThrow(/bit_ranges_block/);
  });

  it('rejects a second key with the same key_ID, through the ledger and through raw SQL', async () => {
    const { ledger } = context();
    const { link, reservation } = await reservedBlock();
    const keyId = randomUUID();
    const key = {
      keyId,
      linkId: link.id,
      masterSaeId: 'sae-alice',
      size: 128,
      reservationId: reservation.id,
      offset: 0,
      expiresAt: inAnHour(),
      slaves: [{ kind: 'sae' as const, id: 'sae-bob' }],
    };
    await ledger.keys.record([key]);
    const again = ledger.keys.record([{ ...key, offset: 128 }]);
    await expect(again).rejects.toThrow(LedgerConflictError);
    await expect(again).rejects.toMatchObject({ reason: 'key-id-taken' });
    const group = await rawGroup(reservation.id, 200, 8, 1);
    await expect(rawKey(link.id, { id: group, first: 200, size: 8, count: 1 }, 0, { keyId })).rejects.toThrow(
      /keys_pkey/,
    );
    expect(await ledger.keys.find([keyId])).toHaveLength(1);
  });

  it('rejects key groups overlapping inside one reservation or reaching beyond it, from raw SQL', async () => {
    const { reservation } = await reservedBlock();
    await rawGroup(reservation.id, 0, 64, 2);
    await expect(rawGroup(reservation.id, 120, 8, 1)).rejects.toThrow(/key_groups_disjoint/);
    await expect(rawGroup(reservation.id, 64, 32, 4)).rejects.toThrow(/key_groups_disjoint/);
    await expect(rawGroup(reservation.id, 200, 64, 1)).rejects.toThrow(/key_groups_inside_reservation/);
    await expect(rawGroup(reservation.id, 128, 64, 2, 1024)).rejects.toThrow(/key_groups_reservation/);
    await expect(rawGroup(reservation.id, 128, 0, 2)).rejects.toThrow(/key_groups_shape_positive/);
    await expect(rawGroup(reservation.id, 128, 64, 2)).resolves.toBeDefined();
  });

  it('gives each key of a group its own slot of the group, from raw SQL', async () => {
    const { link, reservation } = await reservedBlock();
    const group = { id: await rawGroup(reservation.id, 64, 32, 3), first: 64, size: 32, count: 3 };
    await rawKey(link.id, group, 0);
    await expect(rawKey(link.id, group, 0)).rejects.toThrow(/"keys_group_slot_unique"/);
    await expect(rawKey(link.id, group, 1, { offset: 80 })).rejects.toThrow(/"keys_group_slot"/);
    await expect(rawKey(link.id, group, 3)).rejects.toThrow(/"keys_group_slot"/);
    await expect(rawKey(link.id, group, -1)).rejects.toThrow(/"keys_group_slot"/);
    // A key cannot lie about its group's shape to get a larger or another slot: the foreign key carries it.
    await expect(rawKey(link.id, { ...group, size: 64 }, 1)).rejects.toThrow(/"keys_group"/);
    await expect(rawKey(link.id, { ...group, count: 8 }, 5)).rejects.toThrow(/"keys_group"/);
    await expect(rawKey(link.id, { ...group, first: 0 }, 1)).rejects.toThrow(/"keys_group"/);
    await expect(rawKey(link.id, group, 2)).resolves.toBeDefined();
    const slots = await context().ledger.dataSource.query(
      `SELECT reservation_offset, group_ordinal FROM keys WHERE group_id = $1 ORDER BY group_ordinal`,
      [group.id],
    );
    expect(slots).toEqual([
      { reservation_offset: 64, group_ordinal: 0 },
      { reservation_offset: 128, group_ordinal: 2 },
    ]);
  });

  it('records a batch of keys back to back as one group, and keys that do not follow as groups of their own', async () => {
    const { ledger } = context();
    const { reservation } = await reservedBlock();
    const batch = [key64(reservation, 0), key64(reservation, 64), key64(reservation, 192)];
    await ledger.keys.record(batch);
    const groups = await ledger.dataSource.query(
      `SELECT first_offset, key_size, key_count FROM key_groups WHERE reservation_id = $1 ORDER BY first_offset`,
      [reservation.id],
    );
    expect(groups).toEqual([
      { first_offset: 0, key_size: 64, key_count: 2 },
      { first_offset: 192, key_size: 64, key_count: 1 },
    ]);
    expect(
      (await ledger.keys.find(batch.map((k) => k.keyId))).map((k) => k.offset).sort((a, b) => a - b),
    ).toEqual([0, 64, 192]);
  });

  it('records nothing of a batch when one key overlaps another', async () => {
    const { ledger } = context();
    const { reservation } = await reservedBlock();
    const batch = [key64(reservation, 0), key64(reservation, 64), key64(reservation, 96)];
    await expect(ledger.keys.record(batch)).rejects.toMatchObject({ reason: 'bits-already-used' });
    expect(await ledger.keys.find(batch.map((k) => k.keyId))).toEqual([]);
  });

  it('records nothing of a batch when one key lies outside its reservation, and says it never will', async () => {
    const { ledger } = context();
    const { reservation } = await reservedBlock();
    const batch = [key64(reservation, 0), key64(reservation, reservation.bits)];
    await expect(ledger.keys.record(batch)).rejects.toMatchObject({ reason: 'impossible-bits' });
    expect(await ledger.keys.find(batch.map((k) => k.keyId))).toEqual([]);
  });

  it('records nothing of a batch when one key names a reservation not recorded for its link', async () => {
    const { ledger } = context();
    const { reservation } = await reservedBlock();
    const other = await newLink(ledger, 1024);
    const strays = [
      key64(reservation, 64, { reservationId: randomUUID() }),
      key64(reservation, 64, { linkId: other.id }),
    ];
    for (const stray of strays) {
      const batch = [key64(reservation, 0), stray];
      await expect(ledger.keys.record(batch)).rejects.toMatchObject({ reason: 'unknown-reservation' });
      expect(await ledger.keys.find(batch.map((k) => k.keyId))).toEqual([]);
      expect(await ledger.audit.about(batch[0]!.keyId)).toEqual([]);
    }
  });

  it('records one key-issued event per link of a batch, naming each SAE once, masters first', async () => {
    const { ledger } = context();
    const { link, reservation } = await reservedBlock();
    const batch = [
      key64(reservation, 0, { slaves: ['sae-bob'] }),
      key64(reservation, 64, { slaves: ['sae-carol', 'sae-bob'] }),
    ];
    await ledger.keys.record(batch);
    const [event, ...more] = await ledger.audit.about(batch[1]!.keyId);
    expect(more).toEqual([]);
    expect(event).toMatchObject({ event: 'key-issued', linkId: link.id, bits: 128 });
    expect(event!.saeIds).toEqual(['sae-alice', 'sae-bob', 'sae-carol']);
    expect([...event!.keyIds].sort()).toEqual(batch.map((k) => k.keyId).sort());
  });

  it('ensures a known link without waiting for transactions that record on it', async () => {
    const { ledger } = context();
    const link = await newLink(ledger, 1024);
    // What every key or block insert does through its foreign key: a key-share lock on the link's row.
    const runner = ledger.dataSource.createQueryRunner();
    await runner.connect();
    await runner.startTransaction();
    try {
      await runner.query(`SELECT id FROM links WHERE id = $1 FOR KEY SHARE`, [link.id]);
      const ensured = ledger.links.ensure(link.sourceKmeId, link.targetKmeId, 1024);
      const waited = await Promise.race([
        ensured.then(() => false),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(true), 1_000)),
      ]);
      await runner.commitTransaction();
      expect(waited).toBe(false);
      expect(await ensured).toMatchObject({ id: link.id, blockBits: 1024 });
    } finally {
      if (runner.isTransactionActive) await runner.rollbackTransaction();
      await runner.release();
    }
    expect(await ledger.links.ensure(link.sourceKmeId, link.targetKmeId, 2048)).toMatchObject({
      id: link.id,
      blockBits: 2048,
    });
  });

  it('refuses to record on the target a reservation that overlaps one recorded before', async () => {
    const { ledger } = context();
    const link = await newLink(ledger, 1024);
    const [block] = await readyBlocks(ledger, link, 1);
    const first = reservationOn(link, block.id, 0);
    expect(await ledger.reservations.record(first)).toBe(true);
    expect(await ledger.reservations.record(first)).toBe(false);
    const overlapping = reservationOn(link, block.id, 504);
    await expect(ledger.reservations.record(overlapping)).rejects.toMatchObject({
      reason: 'bits-already-used',
    });
    expect((await ledger.blocks.find(block.id))?.reservedBits).toBe(512);
  });

  it.each([
    ['past the end of its block', 1024 - 256],
    ['beyond the ledger integers', 2 ** 31],
  ])('refuses, as never recordable, a reservation whose bits lie %s', async (_case, start) => {
    const { ledger } = context();
    const link = await newLink(ledger, 1024);
    const [block] = await readyBlocks(ledger, link, 1);
    await expect(ledger.reservations.record(reservationOn(link, block.id, start))).rejects.toMatchObject({
      reason: 'impossible-bits',
    });
    expect((await ledger.blocks.find(block.id))?.reservedBits).toBe(0);
  });

  it('refuses a reservation recorded before on other bits, and leaves the recorded one as it was', async () => {
    const { ledger } = context();
    const link = await newLink(ledger, 1024);
    const [block, other] = await readyBlocks(ledger, link, 2);
    const first = reservationOn(link, block.id, 0);
    expect(await ledger.reservations.record(first)).toBe(true);
    // The same ID on other bits, as a second first assignment that disagrees would name it.
    for (const elsewhere of [reservationOn(link, other.id, 0), reservationOn(link, block.id, 256)]) {
      await expect(ledger.reservations.record({ ...elsewhere, id: first.id })).rejects.toMatchObject({
        reason: 'segments-not-on-link',
      });
    }
    expect(await ledger.reservations.find(first.id)).toEqual(first);
    expect((await ledger.blocks.find(other.id))?.reservedBits).toBe(0);
  });
});

/** A new reservation of 512 bits of one block of `link`, from `start`. */
function reservationOn(link: Link, blockId: string, start: number): Reservation {
  return { id: randomUUID(), linkId: link.id, bits: 512, segments: [{ blockId, start, end: start + 512 }] };
}
