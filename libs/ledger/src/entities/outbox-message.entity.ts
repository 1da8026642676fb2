import { Column, Entity, Index, PrimaryGeneratedColumn, Unique } from 'typeorm';

/** A message written with the ledger change it announces, waiting for the relay to publish it. */
@Entity({ name: 'outbox_messages' })
@Unique('outbox_messages_msg_id_unique', ['msgId'])
@Index('outbox_messages_pending', ['id'], { where: 'published_at IS NULL' })
export class OutboxMessageEntity {
  /** A bigint, which the driver hands over as a string. */
  @PrimaryGeneratedColumn('identity', {
    name: 'id',
    type: 'bigint',
    generatedIdentity: 'ALWAYS',
    primaryKeyConstraintName: 'outbox_messages_pkey',
  })
  id!: string;

  @Column({ name: 'subject', type: 'text' })
  subject!: string;

  @Column({ name: 'msg_id', type: 'text' })
  msgId!: string;

  @Column({ name: 'payload', type: 'bytea' })
  payload!: Buffer;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;

  @Column({ name: 'published_at', type: 'timestamptz', nullable: true })
  publishedAt!: Date | null;
}
