import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * The inbox: messages already applied, so a redelivered message has no second effect. A message is known by
 * its subject, which names its sender, and its ID: one peer cannot take another's message ID.
 */
@Entity({ name: 'processed_messages' })
@Index('processed_messages_processed_at', ['processedAt'])
export class ProcessedMessageEntity {
  @PrimaryColumn({ name: 'message_id', type: 'text', primaryKeyConstraintName: 'processed_messages_pkey' })
  messageId!: string;

  @PrimaryColumn({ name: 'subject', type: 'text', primaryKeyConstraintName: 'processed_messages_pkey' })
  subject!: string;

  @Column({ name: 'processed_at', type: 'timestamptz', default: () => 'now()' })
  processedAt!: Date;
}
