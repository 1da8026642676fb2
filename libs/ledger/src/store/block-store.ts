import { EntityManager } from 'typeorm';

import { concatBits, sliceBits, zeroBits } from '../bits';
import { MaterialCipher, type StoredMaterial } from '../crypto/material-cipher';
import { BlockEntity } from '../entities/block.entity';
import { AuditTrail } from './audit-trail';
import { blockRow, storedColumns, storedOf, type StoredColumns } from './material-binding';
import { inTransaction, rows } from './sql';
import { BitSegment, BlockRecord, BlockRole, BlockState } from './types';

/**
 * A lease takes bits only from blocks that live at least this much longer, and is not carved within this of
 * their deadline (the gateway passes it to reserve as validForMs): the keys of its last batch are then
 * recorded well before the reaper burns those blocks at their deadline, which would take the lease's
 * reservation with them and fail that batch. Bits closer to their deadline no longer count as the pool.
 */
export const LEASE_MARGIN_MS = 10_000;

/** Why a source block its target never confirmed in time was burned (see BlockStore.answerOf). */
export const UNCONFIRMED_BURN_REASON = 'unconfirmed by the target';

/** Why a source block its target rejected was burned (see BlockStore.answerOf). */
export function rejectedBurnReason(target: string, reason: string): string {
  return `${REJECTED_BURN_PREFIX}${target}: ${reason}`;
}
const REJECTED_BURN_PREFIX = 'rejected by ';

/** How a link's target answers its source blocks: see BlockStore.answerOf. */
export interface LinkAnswer {
  /**
   * The newest source block the target settled was burned, unconfirmed or rejected: the target is not
   * answering, or cannot regenerate blocks (an entropy server it cannot read, say).
   */
  readonly unanswered: boolean;
  /** Source blocks still waiting for the target's confirmation. */
  readonly pending: number;
}

export interface NewBlock {
  readonly id: string;
  readonly linkId: number;
  readonly role: BlockRole;
  /** The source stores `pending` until the target confirms; the target stores what it regenerated `ready`. */
  readonly state: 'pending' | 'ready';
  readonly material: Buffer;
  /** Length in bits; the material holds exactly ceil(bits / 8) bytes. */
  readonly bits: number;
  readonly metadata: Buffer;
  readonly expiresAt: Date;
}

/** A block as callers see it; BlockEntity never selects the material columns. */
const toBlock = (block: BlockEntity): BlockRecord => ({
  id: block.id,
  linkId: block.linkId,
  role: block.role,
  state: block.state,
  bits: block.bits,
  reservedBits: block.reservedBits,
  metadata: block.metadata,
  // blocks_material_whole keeps the three material columns all set or all null, so the KEK version tells.
  hasMaterial: block.materialKekId !== null,
  createdAt: block.createdAt,
  readyAt: block.readyAt,
  expiresAt: block.expiresAt,
  burnedAt: block.burnedAt,
  burnReason: block.burnReason,
});

export class BlockStore {
  constructor(
    private readonly manager: EntityManager,
    private readonly cipher: MaterialCipher,
  ) {}

  /** Stores a block with its material encrypted; answers false when a block with this ID already exists. */
  async store(block: NewBlock): Promise<boolean> {
    if (
      !Number.isInteger(block.bits) ||
      block.bits <= 0 ||
      block.material.length !== Math.ceil(block.bits / 8)
    ) {
      throw new RangeError(
        `block ${block.id}: ${block.material.length} bytes cannot hold exactly ${block.bits} bits`,
      );
    }
    const sealed = this.cipher.seal('blocks', blockRow(block), block.material);
    return inTransaction(this.manager, async (manager) => {
      const inserted = await rows(
        manager,
        `INSERT INTO blocks (id, link_id, role, state, bits, material_ciphertext, material_wrapped_key,
           material_kek_id, metadata, expires_at, ready_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, CASE WHEN $4 = 'ready' THEN now() END)
         ON CONFLICT (id) DO NOTHING RETURNING id`,
        [
          block.id,
          block.linkId,
          block.role,
          block.state,
          block.bits,
          sealed.ciphertext,
          sealed.wrappedKey,
          sealed.kekId,
          block.metadata,
          block.expiresAt,
        ],
      );
      if (inserted.length === 0) {
        return false;
      }
      await new AuditTrail(manager).append({
        event: block.state === 'ready' ? 'block-ready' : 'block-stored',
        linkId: block.linkId,
        blockIds: [block.id],
        bits: block.bits,
      });
      return true;
    });
  }

  async find(id: string): Promise<BlockRecord | undefined> {
    const block = await this.manager.findOneBy(BlockEntity, { id });
    return block === null ? undefined : toBlock(block);
  }

  /** pending → ready, once the target confirmed it holds the same block; false if it was not pending. */
  async markReady(id: string): Promise<boolean> {
    return inTransaction(this.manager, async (manager) => {
      const updated = await rows<{ link_id: number; bits: number }>(
        manager,
        `UPDATE blocks SET state = 'ready', ready_at = now() WHERE id = $1 AND state = 'pending'
         RETURNING link_id, bits`,
        [id],
      );
      if (updated.length === 0) {
        return false;
      }
      await new AuditTrail(manager).append({
        event: 'block-ready',
        linkId: updated[0].link_id,
        blockIds: [id],
        bits: updated[0].bits,
      });
      return true;
    });
  }

  /**
   * Burns a block: its material (ciphertext and wrapped data key) is dropped. Only while it is in state `from`
   * when given (a block found pending may have been confirmed since); false if it was not burned.
   */
  async burn(id: string, reason: string, from?: 'pending' | 'ready'): Promise<boolean> {
    return inTransaction(this.manager, async (manager) => {
      const updated = await rows<{ link_id: number; bits: number; reserved_bits: number }>(
        manager,
        `UPDATE blocks SET state = 'burned', burned_at = now(), burn_reason = $2,
           material_ciphertext = NULL, material_wrapped_key = NULL, material_kek_id = NULL
         WHERE id = $1 AND state <> 'burned' AND ($3::text IS NULL OR state = $3)
         RETURNING link_id, bits, reserved_bits`,
        [id, reason, from ?? null],
      );
      if (updated.length === 0) {
        return false;
      }
      await new AuditTrail(manager).append({
        event: 'block-burned',
        linkId: updated[0].link_id,
        blockIds: [id],
        bits: updated[0].bits - updated[0].reserved_bits,
        reason,
      });
      return true;
    });
  }

  /**
   * Unreserved bits of a link's ready blocks that a lease may still take (they live LEASE_MARGIN_MS longer):
   * the pool behind ETSI `stored_key_count`.
   */
  readyBits(linkId: number): Promise<number> {
    return unreservedBits(this.manager, linkId, LEASE_MARGIN_MS);
  }

  /**
   * Unreserved bits of a link's source blocks in `states` that live at least `validForMs` more (what the
   * key-generator holds against its watermarks, with pending blocks).
   */
  unreservedBits(linkId: number, validForMs: number, states: readonly BlockState[]): Promise<number> {
    return unreservedBits(this.manager, linkId, validForMs, states);
  }

  /**
   * Whether the target answers a link's source blocks: unanswered when the newest of them that left `pending`
   * was burned unconfirmed (UNCONFIRMED_BURN_REASON) or rejected by the target (rejectedBurnReason), and none
   * made later was confirmed since. A target that rejects every block (one entropy server it cannot read) would
   * otherwise have its source lease a whole pool from every server for nothing, again and again.
   */
  async answerOf(linkId: number): Promise<LinkAnswer> {
    const [row] = await rows<{ unanswered: boolean; pending: number }>(
      this.manager,
      `SELECT count(*) FILTER (WHERE state = 'pending')::int AS pending,
         coalesce(max(created_at) FILTER (WHERE burn_reason = $2 OR starts_with(burn_reason, $3)), '-infinity')
           > coalesce(max(created_at) FILTER (WHERE ready_at IS NOT NULL), '-infinity') AS unanswered
       FROM blocks WHERE link_id = $1 AND role = 'source'`,
      [linkId, UNCONFIRMED_BURN_REASON, REJECTED_BURN_PREFIX],
    );
    return { unanswered: row.unanswered, pending: row.pending };
  }

  /**
   * The plaintext material of a block, or undefined when it has none (burned or unknown). Zero it when done.
   */
  async readMaterial(id: string): Promise<Buffer | undefined> {
    const sealed = (await this.readSealed([id])).get(id);
    return sealed === undefined ? undefined : this.cipher.open('blocks', sealed);
  }

  /**
   * The bits of a run of segments, concatenated in order (how a key's material is taken from its
   * reservation). Undefined when any block no longer has material.
   */
  async readBits(segments: readonly BitSegment[]): Promise<Buffer | undefined> {
    return this.bitsOf(segments, await this.readSealed([...new Set(segments.map((each) => each.blockId))]));
  }

  /** The sealed material of those of `ids` that still have it, in one round trip. */
  async readSealed(ids: readonly string[]): Promise<Map<string, StoredMaterial>> {
    const found = await rows<{ id: string } & StoredColumns>(
      this.manager,
      `SELECT b.id, ${storedColumns('blocks', 'b')}
       FROM blocks b WHERE b.id = ANY ($1::uuid[]) AND b.material_ciphertext IS NOT NULL`,
      [ids],
    );
    return new Map(found.map((row) => [row.id, storedOf('blocks', row.id, row)]));
  }

  /**
   * readBits from sealed material already read (see readSealed), e.g. together with other questions in one
   * statement. Undefined when a block of the segments is missing from `sealed`.
   */
  bitsOf(segments: readonly BitSegment[], sealed: ReadonlyMap<string, StoredMaterial>): Buffer | undefined {
    if (segments.some((segment) => !sealed.has(segment.blockId))) {
      return undefined;
    }
    const materials = new Map<string, Buffer>();
    try {
      const parts: { bits: Buffer; length: number }[] = [];
      for (const segment of segments) {
        let material = materials.get(segment.blockId);
        if (material === undefined) {
          material = this.cipher.open('blocks', sealed.get(segment.blockId)!);
          materials.set(segment.blockId, material);
        }
        const length = segment.end - segment.start;
        parts.push({ bits: sliceBits(material, segment.start, length), length });
      }
      const joined = concatBits(parts);
      parts.forEach((part) => part.bits.fill(0));
      return joined;
    } finally {
      materials.forEach((material) => material.fill(0));
    }
  }

  /**
   * Source side: the bits of a run of segments, concatenated in order, and zeroed in the stored blocks in the
   * same transaction, so once the caller has handed them out the ledger keeps no copy (but the sealed old
   * row versions that Postgres keeps until vacuum, see the README's security claim). Blocks are locked in
   * ID order (no deadlock between concurrent takers) and re-sealed under a fresh data key. Undefined, and
   * nothing changed, when any block no longer has material.
   */
  async takeBits(segments: readonly BitSegment[]): Promise<Buffer | undefined> {
    let taken: Buffer | undefined;
    try {
      await this.rewrite(segments, (materials) => {
        if (materials.size < new Set(segments.map((segment) => segment.blockId)).size) return [];
        const parts = segments.map((segment) => {
          const length = segment.end - segment.start;
          return { bits: sliceBits(materials.get(segment.blockId) as Buffer, segment.start, length), length };
        });
        taken = concatBits(parts);
        parts.forEach((part) => part.bits.fill(0));
        segments.forEach((segment) => zeroSegment(materials, segment));
        return [...materials.keys()];
      });
    } catch (error) {
      // Failed after the bits were read (re-sealing, the connection): they stay in the blocks, this copy goes.
      taken?.fill(0);
      throw error;
    }
    return taken;
  }

  /**
   * Target side: zeroes the segments' bits in the stored blocks that still hold material (the bits of keys
   * recorded from them, which need them no more). Only blocks where a bit changed are re-sealed and written,
   * so zeroing the same bits again costs a read. Answers how many blocks were written.
   */
  async zeroBits(segments: readonly BitSegment[]): Promise<number> {
    return this.rewrite(segments, (materials) => {
      const changed = new Set<string>();
      for (const segment of segments) {
        if (zeroSegment(materials, segment)) changed.add(segment.blockId);
      }
      return [...changed];
    });
  }

  /**
   * Locks the segments' blocks that hold material in ID order, opens them, lets `change` alter them, and
   * re-seals under fresh data keys the blocks it names; all in one transaction. Plaintext is zeroed after.
   */
  private async rewrite(
    segments: readonly BitSegment[],
    change: (materials: Map<string, Buffer>) => readonly string[],
  ): Promise<number> {
    const blockIds = [...new Set(segments.map((segment) => segment.blockId))].sort();
    return inTransaction(this.manager, async (manager) => {
      const found = await rows<{ id: string } & StoredColumns>(
        manager,
        `SELECT b.id, ${storedColumns('blocks', 'b')}
         FROM blocks b WHERE b.id = ANY ($1::uuid[]) AND b.material_ciphertext IS NOT NULL ORDER BY b.id FOR UPDATE`,
        [blockIds],
      );
      const stored = new Map(found.map((row) => [row.id, storedOf('blocks', row.id, row)]));
      const materials = new Map<string, Buffer>();
      try {
        // Inside the try: a block that does not open leaves those opened before it zeroed too.
        for (const [id, sealed] of stored) materials.set(id, this.cipher.open('blocks', sealed));
        const changed = change(materials);
        if (changed.length === 0) return 0;
        const resealed = changed.map((id) =>
          this.cipher.seal('blocks', stored.get(id)!.row, materials.get(id) as Buffer),
        );
        await rows(
          manager,
          `UPDATE blocks AS b SET material_ciphertext = t.ciphertext, material_wrapped_key = t.wrapped_key,
             material_kek_id = t.kek_id
           FROM unnest($1::uuid[], $2::bytea[], $3::bytea[], $4::int[]) AS t (id, ciphertext, wrapped_key, kek_id)
           WHERE b.id = t.id`,
          [
            changed,
            resealed.map((sealed) => sealed.ciphertext),
            resealed.map((sealed) => sealed.wrappedKey),
            resealed.map((sealed) => sealed.kekId),
          ],
        );
        return changed.length;
      } finally {
        materials.forEach((material) => material.fill(0));
      }
    });
  }
}

/**
 * Zeroes one segment's bits in its opened block, if that block is among them; answers whether any bit was
 * set.
 */
function zeroSegment(materials: ReadonlyMap<string, Buffer>, segment: BitSegment): boolean {
  const material = materials.get(segment.blockId);
  if (material === undefined) return false;
  const length = segment.end - segment.start;
  const before = sliceBits(material, segment.start, length);
  const hadBits = before.some((byte) => byte !== 0);
  before.fill(0);
  if (hadBits) zeroBits(material, segment.start, length);
  return hadBits;
}

/** Unreserved bits of a link's source blocks in `states` (ready by default) that live `validForMs` more. */
export async function unreservedBits(
  manager: EntityManager,
  linkId: number,
  validForMs: number,
  states: readonly BlockState[] = ['ready'],
): Promise<number> {
  const [row] = await rows<{ bits: string }>(
    manager,
    `SELECT coalesce(sum(bits - reserved_bits), 0) AS bits FROM blocks
     WHERE link_id = $1 AND role = 'source' AND state = ANY ($3::text[]) AND reserved_bits < bits
       AND expires_at > now() + $2 * interval '1 millisecond'`,
    [linkId, validForMs, states],
  );
  return Number(row.bits);
}
