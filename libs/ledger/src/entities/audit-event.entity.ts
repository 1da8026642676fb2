import { Check, Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

import type { AuditEventKind } from '../store/audit-trail';

/**
 * One entry of the audit trail. The table is append-only: triggers refuse UPDATE and TRUNCATE, and DELETE of
 * an event younger than a week (the reaper's retention), so saving a loaded entity again fails by design.
 */
@Entity({ name: 'audit_events' })
@Index('audit_events_occurred_at', ['occurredAt'])
@Check(
  'audit_events_event_known',
  `event IN ('block-stored', 'block-ready', 'block-burned', 'block-expired', 'key-issued', 'key-delivered', 'key-expired')`,
)
export class AuditEventEntity {
  @PrimaryGeneratedColumn('identity', {
    name: 'id',
    type: 'bigint',
    generatedIdentity: 'ALWAYS',
    primaryKeyConstraintName: 'audit_events_pkey',
  })
  id!: string;

  @Column({ name: 'occurred_at', type: 'timestamptz', default: () => 'now()' })
  occurredAt!: Date;

  @Column({ name: 'event', type: 'text' })
  event!: AuditEventKind;

  /** No foreign key: the trail outlives the links, blocks and keys it mentions. */
  @Column({ name: 'link_id', type: 'integer', nullable: true })
  linkId!: number | null;

  @Column({ name: 'block_ids', type: 'uuid', array: true, default: () => `'{}'` })
  blockIds!: string[];

  @Column({ name: 'key_ids', type: 'uuid', array: true, default: () => `'{}'` })
  keyIds!: string[];

  @Column({ name: 'sae_ids', type: 'text', array: true, default: () => `'{}'` })
  saeIds!: string[];

  /** A bigint, which the driver hands over as a string. */
  @Column({ name: 'bits', type: 'bigint', nullable: true })
  bits!: string | null;

  @Column({ name: 'reason', type: 'text', nullable: true })
  reason!: string | null;
}
