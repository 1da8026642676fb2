import { EntityManager } from 'typeorm';

import { segmentsAt } from '../segments';
import { BlockStore } from './block-store';
import { findReservations } from './reservation-store';
import { rows } from './sql';
import { BitSegment } from './types';

export interface ScrubCounts {
  /** Keys whose bits were looked at. */
  readonly keys: number;
  /** Blocks written because some of those bits were still there. */
  readonly blocks: number;
  /**
   * Blocks that could not be scrubbed (their material did not open), each with the error; tried again later.
   */
  readonly failed: ReadonlyMap<string, unknown>;
  /** The database's clock when the keys were read: keys recorded after it were not looked at. */
  readonly scannedAt: Date;
}

/** A key group's bits: `keys` keys back to back, `size` bits in all. */
interface GroupRow {
  reservation_id: string | null;
  offset: number;
  size: number;
  keys: number;
  scanned_at: Date;
}

/**
 * Target side: zeroes, in this site's copies of blocks, the bits of every key recorded since `since`. A key's
 * material lives in its own row from then on (dropped once every slave has it), so the block's copy of those
 * bits is no longer needed by anyone, while the block's other bits wait for assignments still in flight.
 * Keys are found through the target blocks still holding material, their reservations and those reservations'
 * key groups (each a run of keys back to back), so the work grows with the live pool, not with the keys table.
 * Zeroing bits that are zero already writes nothing, so overlapping calls (a margin before `since`, several
 * reapers) are harmless.
 * Each block is written in a transaction of its own; one that fails is reported and the others go on.
 */
export async function scrubKeyBits(
  manager: EntityManager,
  blocks: BlockStore,
  since: Date,
): Promise<ScrubCounts> {
  // One row even when no key is found, so the clock is the scan's own.
  const found = await rows<GroupRow>(
    manager,
    `WITH k AS (
       SELECT k.reservation_id, k.first_offset AS offset, k.key_size * k.key_count AS size, k.key_count AS keys
       FROM (SELECT DISTINCT g.reservation_id FROM bit_ranges g JOIN blocks b ON b.id = g.block_id
             WHERE b.role = 'target' AND b.material_ciphertext IS NOT NULL) r
       CROSS JOIN LATERAL (
         SELECT reservation_id, first_offset, key_size, key_count FROM key_groups
         WHERE reservation_id = r.reservation_id AND created_at >= $1
       ) k
     )
     SELECT k.*, now() AS scanned_at FROM (SELECT 1) AS one LEFT JOIN k ON true`,
    [since],
  );
  const scannedAt = found[0].scanned_at;
  const groups = found.filter((group) => group.reservation_id !== null);
  const runs = await reservationRuns(manager, [
    ...new Set(groups.map((group) => group.reservation_id as string)),
  ]);
  const byBlock = new Map<string, BitSegment[]>();
  for (const group of groups) {
    const run = runs.get(group.reservation_id as string);
    if (run === undefined) continue;
    for (const segment of segmentsAt(run, group.offset, group.size)) {
      const ofBlock = byBlock.get(segment.blockId) ?? [];
      ofBlock.push(segment);
      byBlock.set(segment.blockId, ofBlock);
    }
  }
  let written = 0;
  const failed = new Map<string, unknown>();
  for (const [blockId, segments] of byBlock) {
    try {
      written += await blocks.zeroBits(segments);
    } catch (error) {
      failed.set(blockId, error);
    }
  }
  return { keys: groups.reduce((sum, group) => sum + group.keys, 0), blocks: written, failed, scannedAt };
}

/**
 * Each reservation's bit ranges, in order: where its bits lie. A reservation that lost some of them (a block
 * burned at its deadline takes its ranges along) is left out, since its keys' offsets no longer map onto what
 * is left; the bits of its live blocks go when those blocks do.
 */
async function reservationRuns(
  manager: EntityManager,
  reservationIds: readonly string[],
): Promise<Map<string, readonly BitSegment[]>> {
  const recorded = await findReservations(manager, reservationIds);
  return new Map(
    [...recorded.values()]
      .filter(({ bits, segments }) => segments.reduce((sum, { start, end }) => sum + end - start, 0) === bits)
      .map(({ id, segments }) => [id, segments]),
  );
}
