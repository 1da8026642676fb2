import { EntityManager } from 'typeorm';

import { AuditTrail } from './audit-trail';
import { inTransaction, rows } from './sql';

export interface ReapOptions {
  /** The instant deadlines are compared with; defaults to the database clock. */
  readonly now?: Date;
  /** Target blocks are kept this long past their deadline so that assignments in flight still land. */
  readonly targetGraceMs: number;
  /** At most this many keys and this many blocks per call, so one call holds locks only briefly. */
  readonly limit?: number;
}

export interface ReapCounts {
  /** Expired keys deleted. */
  readonly keys: number;
  /** Expired keys whose material went while their rows wait for the scrub (see reapExpired). */
  readonly keysWaiting: number;
  readonly blocks: number;
  readonly reservations: number;
}

/**
 * Deletes expired keys and blocks, dropping their material first, and key groups and reservations nothing
 * refers to any more. A target's expired key loses its material at once but keeps its row until the scrub has
 * zeroed its group's bits in the blocks (scrubKeyBits): once the row is gone, nothing would tell which bits of
 * the blocks were its. Rows another reaper replica is deleting are skipped, so replicas share the work instead
 * of colliding.
 */
export async function reapExpired(manager: EntityManager, options: ReapOptions): Promise<ReapCounts> {
  const limit = options.limit ?? 1000;
  return inTransaction(manager, async (tx) => {
    const now = options.now ?? (await rows<{ now: Date }>(tx, `SELECT now() AS now`))[0].now;
    // The material goes in its own statement before the DELETE, so no later statement of this transaction can
    // read it even while the rows are still visible to it. A delivery (KeyStore.settle) locks a key's slave
    // entries first and its key row after; the DELETE's cascade would take them the other way round, so a key
    // with an entry locked by a delivery is left for the next round instead of waited for (that wait could
    // deadlock), as a key row locked by another replica is.
    const expired = await rows<{ key_id: string; link_id: number; group_id: string; zeroed: boolean }>(
      tx,
      `WITH due AS MATERIALIZED (
         SELECT key_id FROM keys k WHERE expires_at <= $1
           -- A key whose bits are still in this site's blocks keeps its row, without material, until the scrub
           -- has zeroed them: only the row tells where they are.
           AND (material_ciphertext IS NOT NULL
                OR (SELECT g.block_bits_zeroed FROM key_groups g WHERE g.id = k.group_id))
         ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED
       ), held AS MATERIALIZED (
         SELECT key_id FROM key_slaves WHERE key_id IN (SELECT key_id FROM due) FOR UPDATE SKIP LOCKED
       )
       UPDATE keys k SET material_ciphertext = NULL, material_wrapped_key = NULL, material_kek_id = NULL
       FROM due
       WHERE k.key_id = due.key_id
         AND (SELECT count(*) FROM key_slaves s WHERE s.key_id = due.key_id)
           = (SELECT count(*) FROM held h WHERE h.key_id = due.key_id)
       RETURNING k.key_id, k.link_id, k.group_id,
         (SELECT g.block_bits_zeroed FROM key_groups g WHERE g.id = k.group_id) AS zeroed`,
      [now, limit],
    );
    const keys = expired.filter((key) => key.zeroed);
    await tx.query(`DELETE FROM keys WHERE key_id = ANY ($1::uuid[])`, [keys.map((key) => key.key_id)]);
    // The groups those keys emptied. Two replicas that each took part of one group both still see the other's
    // keys here and leave it; the sweep before the reservations are deleted takes such a group.
    if (keys.length > 0) {
      await tx.query(
        `DELETE FROM key_groups g
         WHERE g.id = ANY ($1::uuid[]) AND NOT EXISTS (SELECT 1 FROM keys k WHERE k.group_id = g.id)`,
        [[...new Set(keys.map((key) => key.group_id))]],
      );
    }

    // `lost`: the bits that expire unused, none for a block burned before (its burn counted them).
    const blocks = await rows<{ id: string; link_id: number; lost: number }>(
      tx,
      `WITH due AS (SELECT id, state FROM blocks
                    WHERE expires_at + CASE WHEN role = 'target' THEN $3 * interval '1 millisecond'
                                            ELSE interval '0' END <= $1
                    ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)
       UPDATE blocks b SET state = 'burned', burned_at = now(), burn_reason = 'expired',
         material_ciphertext = NULL, material_wrapped_key = NULL, material_kek_id = NULL
       FROM due WHERE b.id = due.id
       RETURNING b.id, b.link_id, CASE WHEN due.state = 'burned' THEN 0 ELSE b.bits - b.reserved_bits END AS lost`,
      [now, limit, options.targetGraceMs],
    );
    await tx.query(`DELETE FROM blocks WHERE id = ANY ($1::uuid[])`, [blocks.map((block) => block.id)]);

    // Reservations whose blocks are all gone, their empty key groups first.
    await tx.query(
      `DELETE FROM key_groups g
       WHERE g.reservation_id IN (SELECT r.id FROM reservations r
                                  WHERE NOT EXISTS (SELECT 1 FROM bit_ranges b WHERE b.reservation_id = r.id))
         AND NOT EXISTS (SELECT 1 FROM keys k WHERE k.group_id = g.id)`,
    );
    const reservations = await rows(
      tx,
      `DELETE FROM reservations r
       WHERE NOT EXISTS (SELECT 1 FROM bit_ranges b WHERE b.reservation_id = r.id)
         AND NOT EXISTS (SELECT 1 FROM key_groups g WHERE g.reservation_id = r.id)
       RETURNING id`,
    );

    const audit = new AuditTrail(tx);
    for (const linkId of new Set(keys.map((key) => key.link_id))) {
      await audit.append({
        event: 'key-expired',
        linkId,
        keyIds: keys.filter((key) => key.link_id === linkId).map((key) => key.key_id),
      });
    }
    for (const linkId of new Set(blocks.map((block) => block.link_id))) {
      const ofLink = blocks.filter((block) => block.link_id === linkId);
      await audit.append({
        event: 'block-expired',
        linkId,
        blockIds: ofLink.map((block) => block.id),
        bits: ofLink.reduce((sum, block) => sum + block.lost, 0),
      });
    }
    return {
      keys: keys.length,
      keysWaiting: expired.length - keys.length,
      blocks: blocks.length,
      reservations: reservations.length,
    };
  });
}
