import { randomUUID } from 'node:crypto';

import { EntityManager } from 'typeorm';

import { LedgerConflictError } from '../errors';
import { segmentsText } from '../segments';
import { unreservedBits } from './block-store';
import { EXCLUSION_VIOLATION, inTransaction, isImpossibleBits, rows, sqlState } from './sql';
import { BitSegment, Reservation } from './types';

export type ReserveResult =
  | {
      readonly ok: true;
      readonly reservation: Reservation;
      /** The earliest deadline of the blocks it lies on: its bits are not to be carved after this. */
      readonly expiresAt: Date;
    }
  | { readonly ok: false; readonly reason: 'insufficient-bits'; readonly availableBits: number };

interface CandidateRow {
  id: string;
  bits: number;
  reserved_bits: number;
  expires_at: Date;
}

/** The most candidate blocks fetched (and locked) per round trip while gathering a reservation. */
const CANDIDATE_PAGE = 64;
/** An upper bound on blocks per reservation, so a huge request cannot hold row locks on a whole pool. */
const MAX_BLOCKS_PER_RESERVATION = 4096;
/** Tries of a reservation that came up short only because other callers held the blocks at that moment. */
const RESERVE_ATTEMPTS = 50;

export class ReservationStore {
  constructor(private readonly manager: EntityManager) {}

  /**
   * Source side: takes `bits` unreserved bits of ready blocks of a link that live at least `validForMs` more,
   * oldest block first, all or nothing. Blocks another caller is reserving from right now are skipped (SKIP
   * LOCKED), so concurrent callers never wait on each other's row locks and never receive the same bits;
   * `blocks.reserved_bits` is the cursor. When skipping left it short although enough bits are committed, the
   * other callers are mid-reservation and finish within milliseconds, so it tries again a bounded number of
   * times. A short attempt gives its blocks' locks back before the next (in a caller's transaction, by
   * rolling back to a savepoint): two callers that each held part of what the other needs would otherwise
   * both retry in vain.
   */
  async reserve(linkId: number, bits: number, validForMs = 0): Promise<ReserveResult> {
    if (!Number.isInteger(bits) || bits <= 0) {
      throw new RangeError('a reservation needs a positive whole number of bits');
    }
    for (let attempt = 1; ; attempt += 1) {
      const result = await attemptReservation(this.manager, linkId, bits, validForMs);
      if (result.ok || attempt === RESERVE_ATTEMPTS) {
        return result;
      }
      const committed = await unreservedBits(this.manager, linkId, validForMs);
      if (committed < bits) {
        return { ok: false, reason: 'insufficient-bits', availableBits: committed };
      }
      await new Promise((resolve) => setTimeout(resolve, 2 + Math.random() * 8));
    }
  }

  /**
   * Target side: records a reservation the source made (from a key assignment), so the same bits can never be
   * used again here either. Answers false when this reservation was recorded before on the same bits; refuses
   * it (LedgerConflictError) when it was recorded on other bits, which only a faulty source could cause, e.g.
   * with two first assignments of one reservation that arrive together and disagree.
   */
  async record(reservation: Reservation): Promise<boolean> {
    return inTransaction(this.manager, async (manager) => {
      // Several assignments carved from one reservation may arrive at once. Whoever records it locks its
      // blocks first (in ID order), so the others wait here and then find it recorded.
      const blockIds = [...new Set(reservation.segments.map((segment) => segment.blockId))].sort();
      const blocks = await rows<{ id: string; bits: number }>(
        manager,
        `SELECT id, bits FROM blocks WHERE id = ANY ($1::uuid[]) AND link_id = $2 ORDER BY id FOR UPDATE`,
        [blockIds, reservation.linkId],
      );
      if (blocks.length !== blockIds.length) {
        // Its blocks may have been reaped since an earlier delivery recorded it, and their bit ranges with
        // them: nothing is left to compare, and no key can be carved from them.
        const [recorded] = await rows(manager, `SELECT 1 FROM reservations WHERE id = $1`, [reservation.id]);
        if (recorded !== undefined) {
          return false;
        }
        throw new LedgerConflictError(
          'segments-not-on-link',
          `reservation ${reservation.id} names blocks that are not blocks of link ${reservation.linkId} here`,
        );
      }
      const sizes = new Map(blocks.map((block) => [block.id, block.bits]));
      const inserted = await insertReservation(
        manager,
        reservation,
        reservation.segments.map((segment) => sizes.get(segment.blockId) as number),
      );
      return inserted || recordedBefore(manager, reservation);
    });
  }

  async find(id: string): Promise<Reservation | undefined> {
    return findReservation(this.manager, id);
  }
}

/** False when `reservation` is recorded on the bits it names; refuses it when recorded on other bits. */
async function recordedBefore(manager: EntityManager, reservation: Reservation): Promise<false> {
  // A statement of its own sees the reservation that a concurrent caller committed meanwhile.
  const recorded = await findReservation(manager, reservation.id);
  if (recorded === undefined || segmentsText(recorded.segments) !== segmentsText(reservation.segments)) {
    throw new LedgerConflictError(
      'segments-not-on-link',
      `reservation ${reservation.id} lies on other bits here than this one says`,
    );
  }
  return false;
}

async function findReservation(manager: EntityManager, id: string): Promise<Reservation | undefined> {
  return (await findReservations(manager, [id])).get(id);
}

/** The reservations among `ids` that are recorded, with the bit ranges left of them, in order. */
export async function findReservations(
  manager: EntityManager,
  ids: readonly string[],
): Promise<Map<string, Reservation>> {
  const found = await rows<{
    id: string;
    link_id: number;
    bits: number;
    block_id: string;
    lo: number;
    hi: number;
  }>(
    manager,
    `SELECT r.id, r.link_id, r.bits, g.block_id, lower(g.bits) AS lo, upper(g.bits) AS hi
     FROM reservations r JOIN bit_ranges g ON g.reservation_id = r.id
     WHERE r.id = ANY ($1::uuid[]) ORDER BY r.id, g.ordinal`,
    [ids],
  );
  const reservations = new Map<string, Reservation & { segments: BitSegment[] }>();
  for (const row of found) {
    const reservation = reservations.get(row.id) ?? {
      id: row.id,
      linkId: row.link_id,
      bits: row.bits,
      segments: [],
    };
    reservation.segments.push({ blockId: row.block_id, start: row.lo, end: row.hi });
    reservations.set(row.id, reservation);
  }
  return reservations;
}

/**
 * One try of reserve(): its own transaction, or a savepoint of the caller's, undone when it comes up short.
 */
async function attemptReservation(
  manager: EntityManager,
  linkId: number,
  bits: number,
  validForMs: number,
): Promise<ReserveResult> {
  if (!manager.queryRunner?.isTransactionActive) {
    return manager.transaction((own) => tryReserve(own, linkId, bits, validForMs));
  }
  await manager.query('SAVEPOINT reserve_attempt');
  const result = await tryReserve(manager, linkId, bits, validForMs);
  await manager.query(
    result.ok ? 'RELEASE SAVEPOINT reserve_attempt' : 'ROLLBACK TO SAVEPOINT reserve_attempt',
  );
  return result;
}

/**
 * Candidate blocks to ask for while `missing` bits are still wanted: one more than that many bits of the last
 * block seen would need (the oldest block is often partly reserved), two before any was seen, at most
 * CANDIDATE_PAGE.
 */
function pageFor(missing: number, last: CandidateRow | undefined): number {
  if (last === undefined) return 2;
  return Math.min(CANDIDATE_PAGE, Math.ceil(missing / last.bits) + 1);
}

async function tryReserve(
  manager: EntityManager,
  linkId: number,
  bits: number,
  validForMs: number,
): Promise<ReserveResult> {
  const taken: { row: CandidateRow; take: number }[] = [];
  let missing = bits;
  let after: CandidateRow | undefined;
  while (missing > 0 && taken.length < MAX_BLOCKS_PER_RESERVATION) {
    // Every row a page returns stays locked to the end of the caller's transaction, so a page asks for about
    // the blocks still needed: a page of a whole pool would lock out every other gateway replica meanwhile.
    const limit = Math.min(pageFor(missing, after), MAX_BLOCKS_PER_RESERVATION - taken.length);
    const page = await rows<CandidateRow>(
      manager,
      `SELECT id, bits, reserved_bits, expires_at FROM blocks
       WHERE link_id = $1 AND role = 'source' AND state = 'ready' AND reserved_bits < bits
         AND expires_at > now() + $5 * interval '1 millisecond'
         AND ($2::timestamptz IS NULL OR (expires_at, id) > ($2, $3::uuid))
       ORDER BY expires_at, id LIMIT $4 FOR UPDATE SKIP LOCKED`,
      [linkId, after?.expires_at ?? null, after?.id ?? null, limit, validForMs],
    );
    for (const row of page) {
      const take = Math.min(row.bits - row.reserved_bits, missing);
      taken.push({ row, take });
      missing -= take;
      if (missing === 0) {
        break;
      }
    }
    if (page.length < limit) {
      break;
    }
    after = page[page.length - 1];
  }
  if (missing > 0) {
    return { ok: false, reason: 'insufficient-bits', availableBits: bits - missing };
  }
  const segments: BitSegment[] = taken.map(({ row, take }) => ({
    blockId: row.id,
    start: row.reserved_bits,
    end: row.reserved_bits + take,
  }));
  const reservation: Reservation = { id: randomUUID(), linkId, bits, segments };
  const inserted = await insertReservation(
    manager,
    reservation,
    taken.map(({ row }) => row.bits),
  );
  if (!inserted) {
    throw new LedgerConflictError('reservation-id-taken', `reservation ${reservation.id} exists already`);
  }
  const expiresAt = new Date(Math.min(...taken.map(({ row }) => row.expires_at.getTime())));
  return { ok: true, reservation, expiresAt };
}

/**
 * Records a reservation, its bit ranges and the blocks' reserved bits in one statement (one round trip while
 * the caller holds the blocks' row locks). Answers false, and records nothing, when its ID is recorded
 * already.
 */
async function insertReservation(
  manager: EntityManager,
  reservation: Reservation,
  blockSizes: readonly number[],
): Promise<boolean> {
  const total = reservation.segments.reduce((sum, segment) => sum + segment.end - segment.start, 0);
  if (reservation.segments.length === 0 || total !== reservation.bits) {
    throw new RangeError(
      `reservation ${reservation.id}: segments hold ${total} bits, not ${reservation.bits}`,
    );
  }
  try {
    const [{ inserted }] = await rows<{ inserted: number }>(
      manager,
      `WITH r AS (
         INSERT INTO reservations (id, link_id, bits) VALUES ($1, $2, $3)
         ON CONFLICT (id) DO NOTHING RETURNING id
       ), t AS (
         SELECT * FROM unnest($4::uuid[], $5::int[], $6::int[], $7::int[]) WITH ORDINALITY
           AS t (block_id, block_bits, lo, hi, ordinal)
       ), g AS (
         INSERT INTO bit_ranges (reservation_id, ordinal, block_id, block_bits, bits)
         SELECT r.id, t.ordinal - 1, t.block_id, t.block_bits, int4range(t.lo, t.hi) FROM r CROSS JOIN t
       ), u AS (
         UPDATE blocks AS b SET reserved_bits = b.reserved_bits + s.take
         FROM (SELECT block_id, sum(hi - lo)::int AS take FROM t GROUP BY block_id) AS s
         WHERE b.id = s.block_id AND EXISTS (SELECT 1 FROM r)
       )
       SELECT count(*)::int AS inserted FROM r`,
      [
        reservation.id,
        reservation.linkId,
        reservation.bits,
        reservation.segments.map((segment) => segment.blockId),
        blockSizes,
        reservation.segments.map((segment) => segment.start),
        reservation.segments.map((segment) => segment.end),
      ],
    );
    return inserted > 0;
  } catch (error) {
    if (sqlState(error) === EXCLUSION_VIOLATION) {
      throw new LedgerConflictError(
        'bits-already-used',
        `reservation ${reservation.id} overlaps bits already reserved`,
      );
    }
    if (isImpossibleBits(error)) {
      throw new LedgerConflictError(
        'impossible-bits',
        `reservation ${reservation.id} names bits its blocks do not have`,
      );
    }
    throw error;
  }
}
