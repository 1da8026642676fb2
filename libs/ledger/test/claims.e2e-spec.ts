import { randomUUID } from 'node:crypto';

import { Ledger } from '../src/ledger';
import { segmentsAt } from '../src/segments';
import { BitSegment } from '../src/store/types';
import { DATABASE_MODES, withClient } from './support/test-database';
import { inAnHour, newLink, readyBlocks, useTestLedger } from './support/test-ledger';

const CLAIMANTS = 12;

/** Every bit handed out, as "block:bit", failing on the first bit seen twice. */
function assertDisjoint(segments: readonly BitSegment[]): number {
  const byBlock = new Map<string, BitSegment[]>();
  segments.forEach((segment) =>
    byBlock.set(segment.blockId, [...(byBlock.get(segment.blockId) ?? []), segment]),
  );
  let total = 0;
  for (const [blockId, ofBlock] of byBlock) {
    ofBlock.sort((a, b) => a.start - b.start);
    ofBlock.forEach((segment, i) => {
      if (i > 0 && segment.start < ofBlock[i - 1].end) {
        throw new Error(
          `bits ${segment.start}..${ofBlock[i - 1].end} of block ${blockId} were handed out twice`,
        );
      }
      total += segment.end - segment.start;
    });
  }
  return total;
}

describe.each(DATABASE_MODES)('reserving bits on %s', (mode) => {
  const context = useTestLedger(mode);
  let claimants: Ledger[];
  beforeAll(async () => {
    claimants = await Promise.all(Array.from({ length: CLAIMANTS }, () => context().connect()));
  });

  it('takes the oldest unexpired ready block first and skips pending, burned and expired ones', async () => {
    const { ledger } = context();
    const link = await newLink(ledger, 256);
    const [expired] = await readyBlocks(ledger, link, 1, 256, new Date(Date.now() - 1_000));
    const [oldest, newer] = await readyBlocks(ledger, link, 2, 256, new Date(Date.now() + 60_000));
    const [burned] = await readyBlocks(ledger, link, 1, 256, new Date(Date.now() + 1_000));
    await ledger.blocks.burn(burned.id, 'target rejected the block');
    const pendingId = randomUUID();
    await ledger.blocks.store({
      id: pendingId,
      linkId: link.id,
      role: 'source',
      state: 'pending',
      bits: 256,
      material: Buffer.alloc(32, 1),
      metadata: Buffer.from('m'),
      expiresAt: new Date(Date.now() + 1_000),
    });

    expect(await ledger.blocks.readyBits(link.id)).toBe(512);
    const first = await ledger.reservations.reserve(link.id, 384);
    expect(first).toEqual({
      ok: true,
      // Both blocks share a deadline; the reservation's is the earliest of its blocks'.
      expiresAt: (await ledger.blocks.find(oldest.id))?.expiresAt,
      reservation: expect.objectContaining({
        bits: 384,
        segments: [
          { blockId: oldest.id, start: 0, end: 256 },
          { blockId: newer.id, start: 0, end: 128 },
        ],
      }),
    });
    expect(await ledger.reservations.reserve(link.id, 256)).toEqual({
      ok: false,
      reason: 'insufficient-bits',
      availableBits: 128,
    });
    expect(await ledger.blocks.readyBits(link.id)).toBe(128);
    for (const untouched of [expired.id, burned.id, pendingId]) {
      expect((await ledger.blocks.find(untouched))?.reservedBits).toBe(0);
    }
  });

  it(`never hands one bit to two of ${CLAIMANTS} concurrent claimants`, async () => {
    const { ledger } = context();
    const link = await newLink(ledger, 4096);
    const blocks = await readyBlocks(ledger, link, 24);
    const poolBits = blocks.length * 4096;

    const claimed = await Promise.all(
      claimants.map(async (claimant, index) => {
        const segments: BitSegment[] = [];
        for (let round = 0; round < 200; round += 1) {
          const result = await claimant.reservations.reserve(
            link.id,
            512 + ((index * 7 + round * 13) % 8) * 256,
          );
          if (!result.ok) {
            if (result.availableBits === 0) {
              break;
            }
            continue;
          }
          segments.push(...result.reservation.segments);
        }
        return segments;
      }),
    );
    const handedOut = assertDisjoint(claimed.flat());
    expect(claimed.filter((segments) => segments.length > 0).length).toBeGreaterThan(1);
    expect(handedOut).toBeLessThanOrEqual(poolBits);
    expect(handedOut + (await ledger.blocks.readyBits(link.id))).toBe(poolBits);
    const [stored] = await ledger.dataSource.query(
      `SELECT count(*)::int AS ranges, sum(upper(g.bits) - lower(g.bits))::int AS bits FROM bit_ranges g
       JOIN blocks b ON b.id = g.block_id WHERE b.link_id = $1`,
      [link.id],
    );
    expect(stored).toEqual({ ranges: claimed.flat().length, bits: handedOut });
  });

  it('takes bits only from blocks that live at least as long as asked', async () => {
    const { ledger } = context();
    const link = await newLink(ledger, 256);
    const [soon] = await readyBlocks(ledger, link, 1, 256, new Date(Date.now() + 5_000));
    expect(await ledger.reservations.reserve(link.id, 64, 10_000)).toEqual({
      ok: false,
      reason: 'insufficient-bits',
      availableBits: 0,
    });
    const reserved = await ledger.reservations.reserve(link.id, 64, 1_000);
    expect(reserved.ok && reserved.reservation.segments).toEqual([{ blockId: soon.id, start: 0, end: 64 }]);
  });

  it("gives a short attempt's block locks back before trying again, also within a caller's transaction", async () => {
    const { ledger, database } = context();
    const link = await newLink(ledger, 256);
    const [first, second] = await readyBlocks(ledger, link, 2);
    await withClient(database.url, async (other) => {
      // Another caller holds the second block, then wants the first too: it must not wait on a caller that
      // keeps the first block locked while retrying for want of the second.
      await other.query('BEGIN');
      await other.query('SELECT 1 FROM blocks WHERE id = $1 FOR UPDATE', [second.id]);
      const reserving = ledger.transaction((scope) => scope.reservations.reserve(link.id, 384));
      await new Promise((resolve) => setTimeout(resolve, 50));
      await other.query(`SET LOCAL lock_timeout = '2s'`);
      await other.query('SELECT 1 FROM blocks WHERE id = $1 FOR UPDATE', [first.id]);
      await other.query('COMMIT');
      const reserved = await reserving;
      expect(reserved.ok && reserved.reservation.segments.map((segment) => segment.blockId)).toEqual([
        first.id,
        second.id,
      ]);
    });
  });

  it('locks only about the blocks it takes: another caller reserves from the rest meanwhile', async () => {
    const { ledger } = context();
    const link = await newLink(ledger, 256);
    await readyBlocks(ledger, link, 64);
    let release = () => undefined as void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let first: string[] | undefined;
    const holding = ledger.transaction(async (scope) => {
      const reserved = await scope.reservations.reserve(link.id, 64);
      first = reserved.ok ? reserved.reservation.segments.map((segment) => segment.blockId) : [];
      await held;
    });
    try {
      while (first === undefined) await new Promise((resolve) => setTimeout(resolve, 5));
      expect(first.length).toBeGreaterThan(0);
      const other = await claimants[0]!.reservations.reserve(link.id, 64);
      expect(other.ok).toBe(true);
      const blockIds = other.ok ? other.reservation.segments.map((segment) => segment.blockId) : [];
      expect(blockIds.some((id) => first!.includes(id))).toBe(false);
    } finally {
      release();
      await holding;
    }
  });

  it('lets concurrent claimants carve keys out of their own reservations without collisions', async () => {
    const { ledger } = context();
    const link = await newLink(ledger, 8192);
    await readyBlocks(ledger, link, 4);
    const issued = await Promise.all(
      claimants.map(async (claimant) => {
        const reserved = await claimant.reservations.reserve(link.id, 2048);
        if (!reserved.ok) {
          return [];
        }
        const keys = Array.from({ length: 8 }, (_, i) => ({
          keyId: randomUUID(),
          linkId: link.id,
          masterSaeId: 'sae-alice',
          size: 256,
          reservationId: reserved.reservation.id,
          offset: i * 256,
          expiresAt: inAnHour(),
          slaves: [{ kind: 'sae' as const, id: 'sae-bob' }],
        }));
        await claimant.keys.record(keys);
        return keys.flatMap((key) => segmentsAt(reserved.reservation.segments, key.offset, key.size));
      }),
    );
    expect(issued.filter((segments) => segments.length > 0)).toHaveLength(CLAIMANTS);
    expect(assertDisjoint(issued.flat())).toBe(CLAIMANTS * 8 * 256);
  });
});
