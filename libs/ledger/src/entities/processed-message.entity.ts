import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** The inbox: IDs of messages already applied, so a redelivered message has no second effect. */
@Entity({ name: 'processed_messages' })
@Index('processed_messages_processed_at', ['processedAt'])
export class ProcessedMessageEntity {
  @PrimaryColumn({ name: 'message_id', type: 'text', primaryKeyConstraintName: 'processed_messages_pkey' })
  messageId!: string;

  @Column({ name: 'subject', type: 'text' })
  subject!: string;

  @Column({ name: 'processed_at', type: 'timestamptz', default: () => 'now()' })
  processedAt!: Date;
}
