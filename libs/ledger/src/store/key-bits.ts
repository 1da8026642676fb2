import { EntityManager } from 'typeorm';

import { segmentsAt } from '../segments';
import { BlockStore } from './block-store';
import { rows } from './sql';
import { BitSegment } from './types';

/** Blocks re-sealed per transaction, so a scrub holds few blocks' locks at a time. */
const BLOCKS_PER_TRANSACTION = 16;

export interface ScrubCounts {
  /** Keys whose bits were looked at. */
  readonly keys: number;
  /** Blocks written because some of those bits were still there. */
  readonly blocks: number;
  /** The database's clock when the keys were read: keys recorded after it were not looked at. */
  readonly scannedAt: Date;
}

/**
 * Target side: zeroes, in this site's copies of blocks, the bits of every key recorded since `since`. A key's
 * material lives in its own row from then on (dropped once every slave has it), so the block's copy of those
 * bits is no longer needed by anyone, while the block's other bits wait for assignments still in flight.
 * Keys are found through the target blocks still holding material, their reservations and those keys' own
 * reservation index, so the work grows with the live pool, not with the keys table. Zeroing bits that are
 * zero already writes nothing, so overlapping calls (a margin before `since`, several reapers) are harmless.
 */
export async function scrubKeyBits(
  manager: EntityManager,
  blocks: BlockStore,
  since: Date,
): Promise<ScrubCounts> {
  const keys = await rows<{ reservation_id: string; offset: number; size: number; scanned_at: Date }>(
    manager,
    `SELECT k.reservation_id, k.reservation_offset AS offset, k.size, now() AS scanned_at
     FROM (SELECT DISTINCT g.reservation_id FROM bit_ranges g JOIN blocks b ON b.id = g.block_id
           WHERE b.role = 'target' AND b.material_ciphertext IS NOT NULL) r
     CROSS JOIN LATERAL (
       SELECT reservation_id, reservation_offset, size FROM keys
       WHERE reservation_id = r.reservation_id AND created_at >= $1
     ) k`,
    [since],
  );
  if (keys.length === 0) {
    const [{ now }] = await rows<{ now: Date }>(manager, `SELECT now() AS now`);
    return { keys: 0, blocks: 0, scannedAt: now };
  }
  const runs = await reservationRuns(manager, [...new Set(keys.map((key) => key.reservation_id))]);
  const byBlock = new Map<string, BitSegment[]>();
  for (const key of keys) {
    // A reservation whose blocks were burned meanwhile has no bit ranges left, and nothing to zero.
    const run = runs.get(key.reservation_id);
    if (run === undefined) continue;
    for (const segment of segmentsAt(run, key.offset, key.size)) {
      const ofBlock = byBlock.get(segment.blockId) ?? [];
      ofBlock.push(segment);
      byBlock.set(segment.blockId, ofBlock);
    }
  }
  const blockIds = [...byBlock.keys()].sort();
  let written = 0;
  for (let i = 0; i < blockIds.length; i += BLOCKS_PER_TRANSACTION) {
    const chunk = blockIds.slice(i, i + BLOCKS_PER_TRANSACTION);
    written += await blocks.zeroBits(chunk.flatMap((id) => byBlock.get(id) as BitSegment[]));
  }
  return { keys: keys.length, blocks: written, scannedAt: keys[0].scanned_at };
}

/** Each reservation's bit ranges, in order: where its bits lie. */
async function reservationRuns(
  manager: EntityManager,
  reservationIds: readonly string[],
): Promise<Map<string, BitSegment[]>> {
  const ranges = await rows<{ reservation_id: string; block_id: string; lo: number; hi: number }>(
    manager,
    `SELECT reservation_id, block_id, lower(bits) AS lo, upper(bits) AS hi FROM bit_ranges
     WHERE reservation_id = ANY ($1::uuid[]) ORDER BY reservation_id, ordinal`,
    [reservationIds],
  );
  const runs = new Map<string, BitSegment[]>();
  for (const range of ranges) {
    const run = runs.get(range.reservation_id) ?? [];
    run.push({ blockId: range.block_id, start: range.lo, end: range.hi });
    runs.set(range.reservation_id, run);
  }
  return runs;
}
