import { EntityManager } from 'typeorm';

import { rows } from './sql';

/** Events younger than this the table's trigger refuses to delete (migration AuditRetention1767657600000). */
export const AUDIT_FLOOR_DAYS = 7;

export type AuditEventKind =
  | 'block-stored'
  | 'block-ready'
  | 'block-burned'
  | 'block-expired'
  | 'key-issued'
  | 'key-delivered'
  | 'key-expired';

/** What happened, to which IDs and SAEs, and how many bits: never material. */
export interface AuditEvent {
  readonly event: AuditEventKind;
  readonly linkId?: number;
  readonly blockIds?: readonly string[];
  readonly keyIds?: readonly string[];
  readonly saeIds?: readonly string[];
  readonly bits?: number;
  readonly reason?: string;
}

export interface StoredAuditEvent extends Required<Omit<AuditEvent, 'linkId' | 'bits' | 'reason'>> {
  readonly id: string;
  readonly occurredAt: Date;
  readonly linkId: number | null;
  readonly bits: number | null;
  readonly reason: string | null;
}

interface AuditRow {
  id: string;
  occurred_at: Date;
  event: AuditEventKind;
  link_id: number | null;
  block_ids: string[];
  key_ids: string[];
  sae_ids: string[];
  bits: string | null;
  reason: string | null;
}

/**
 * The append-only audit trail: the table refuses updates, and deletes of events younger than a week, so recent
 * history cannot be rewritten; older events go once they are past the site's retention (prune).
 */
export class AuditTrail {
  constructor(private readonly manager: EntityManager) {}

  async append(event: AuditEvent): Promise<void> {
    await rows(
      this.manager,
      `INSERT INTO audit_events (event, link_id, block_ids, key_ids, sae_ids, bits, reason)
       VALUES ($1, $2, $3::uuid[], $4::uuid[], $5::text[], $6, $7)`,
      [
        event.event,
        event.linkId ?? null,
        event.blockIds ?? [],
        event.keyIds ?? [],
        event.saeIds ?? [],
        event.bits ?? null,
        event.reason ?? null,
      ],
    );
  }

  /** Events mentioning a key or block ID, oldest first. */
  async about(id: string): Promise<StoredAuditEvent[]> {
    const found = await rows<AuditRow>(
      this.manager,
      `SELECT id, occurred_at, event, link_id, block_ids::text[] AS block_ids, key_ids::text[] AS key_ids,
              sae_ids, bits, reason
       FROM audit_events WHERE $1::uuid = ANY (key_ids) OR $1::uuid = ANY (block_ids) ORDER BY id`,
      [id],
    );
    return found.map((row) => ({
      id: row.id,
      occurredAt: row.occurred_at,
      event: row.event,
      linkId: row.link_id,
      blockIds: row.block_ids,
      keyIds: row.key_ids,
      saeIds: row.sae_ids,
      bits: row.bits === null ? null : Number(row.bits),
      reason: row.reason,
    }));
  }

  /**
   * Deletes up to `limit` of the oldest events that occurred more than `retentionDays` ago by the database's
   * clock, the clock its trigger judges by; answers how many. `retentionDays` must be at least AUDIT_FLOOR_DAYS.
   */
  async prune(retentionDays: number, limit: number): Promise<number> {
    const deleted = await this.manager.query(
      `DELETE FROM audit_events WHERE id IN (
         SELECT id FROM audit_events WHERE occurred_at < now() - $1 * interval '1 day'
         ORDER BY occurred_at LIMIT $2)`,
      [retentionDays, limit],
    );
    return (deleted as [unknown, number])[1];
  }
}
