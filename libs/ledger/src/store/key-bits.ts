import { EntityManager } from 'typeorm';

import { MaterialIntegrityError } from '../errors';
import { segmentsAt } from '../segments';
import { BlockStore } from './block-store';
import { findReservations } from './reservation-store';
import { rows } from './sql';
import { BitSegment } from './types';

/** Where a scrub left off: the last group it looked at, in the order it takes them. */
export interface ScrubCursor {
  /** As Postgres writes it: a Date would lose the microseconds, and the order with them. */
  readonly createdAt: string;
  readonly id: string;
}

export interface ScrubCounts {
  /** Key groups looked at: those not zeroed yet after the cursor, up to the limit. */
  readonly groups: number;
  /** Keys in those groups. */
  readonly keys: number;
  /** Blocks written because some of those bits were still there. */
  readonly blocks: number;
  /**
   * Blocks that could not be scrubbed, each with the error. One whose material does not authenticate is given
   * up on (its groups count as zeroed, so their expired keys still go); after any other error (the keyring
   * lacks its KEK version, the database failed) its groups are tried again by a later call.
   */
  readonly failed: ReadonlyMap<string, unknown>;
  /** Where the next call goes on from, when `limit` groups were looked at and more may follow. */
  readonly next?: ScrubCursor;
}

/** A key group's bits: `keys` keys back to back, `size` bits in all. */
interface GroupRow {
  id: string;
  created_at: string;
  reservation_id: string;
  offset: number;
  size: number;
  keys: number;
}

/**
 * Target side: zeroes, in this site's copies of blocks, the bits of every key group not zeroed yet (at most
 * `limit` of them, oldest first, after `after`: a round goes on past groups that failed), and marks those
 * groups zeroed; the reaper deletes only keys of zeroed groups (see reapExpired). A key's material lives in its own row from then on (dropped once every slave has it), so
 * the block's copy of those bits is no longer needed by anyone, while the block's other bits wait for
 * assignments still in flight. A group is marked only once its bits are zeroed in every block that still holds
 * material: a group recorded while this runs is simply left for the next call. Zeroing bits that are zero
 * already writes nothing, so overlapping calls (several reapers) are harmless.
 * Each block is written in a transaction of its own; one that fails is reported and the others go on.
 */
export async function scrubKeyBits(
  manager: EntityManager,
  blocks: BlockStore,
  limit: number,
  after?: ScrubCursor,
): Promise<ScrubCounts> {
  const groups = await rows<GroupRow>(
    manager,
    `SELECT id, created_at::text AS created_at, reservation_id, first_offset AS offset, key_size * key_count AS size,
       key_count AS keys
     FROM key_groups
     WHERE NOT block_bits_zeroed AND ($2::timestamptz IS NULL OR (created_at, id) > ($2::timestamptz, $3::uuid))
     ORDER BY created_at, id LIMIT $1`,
    [limit, after?.createdAt ?? null, after?.id ?? null],
  );
  const runs = await reservationRuns(manager, [...new Set(groups.map((group) => group.reservation_id))]);
  const byBlock = new Map<string, BitSegment[]>();
  const blocksOf = new Map<string, Set<string>>();
  for (const group of groups) {
    const ofGroup = new Set<string>();
    blocksOf.set(group.id, ofGroup);
    const run = runs.get(group.reservation_id);
    if (run === undefined) continue;
    for (const segment of segmentsAt(run, group.offset, group.size)) {
      const ofBlock = byBlock.get(segment.blockId) ?? [];
      ofBlock.push(segment);
      byBlock.set(segment.blockId, ofBlock);
      ofGroup.add(segment.blockId);
    }
  }
  let written = 0;
  const failed = new Map<string, unknown>();
  const retry = new Set<string>();
  for (const [blockId, segments] of byBlock) {
    try {
      written += await blocks.zeroBits(segments);
    } catch (error) {
      failed.set(blockId, error);
      // Only material that does not authenticate is given up on; a keyring without the block's KEK version
      // (one not rotated yet) or the database failing is tried again.
      if (!(error instanceof MaterialIntegrityError) || error.kekMissing) retry.add(blockId);
    }
  }
  const zeroed = [...blocksOf].filter(([, ofGroup]) => ![...ofGroup].some((blockId) => retry.has(blockId)));
  await rows(manager, `UPDATE key_groups SET block_bits_zeroed = true WHERE id = ANY ($1::uuid[])`, [
    zeroed.map(([id]) => id),
  ]);
  const last = groups.length === limit ? groups[groups.length - 1] : undefined;
  return {
    groups: groups.length,
    keys: groups.reduce((sum, group) => sum + group.keys, 0),
    blocks: written,
    failed,
    ...(last && { next: { createdAt: last.created_at, id: last.id } }),
  };
}

/**
 * Each reservation's bit ranges, in order: where its bits lie. A reservation that lost some of them (a block
 * burned at its deadline takes its ranges along), or all, is left out, since its keys' offsets no longer map
 * onto what is left; the bits of its live blocks go when those blocks do, and its groups count as zeroed.
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
