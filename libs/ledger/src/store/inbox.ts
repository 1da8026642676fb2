import { EntityManager, LessThan } from 'typeorm';

import { ProcessedMessageEntity } from '../entities/processed-message.entity';
import { rows } from './sql';

/**
 * Messages already applied, so a redelivered message has no second effect. A message is known by its subject
 * (which names the peer that sent it) and its ID, so one peer's messages cannot pass for another's.
 */
export class Inbox {
  constructor(private readonly manager: EntityManager) {}

  /**
   * Records a message as processed inside the caller's transaction; false when it was recorded before. A
   * concurrent duplicate waits on the first one's uncommitted row and then sees the conflict, so of two
   * simultaneous deliveries exactly one proceeds (or both, one after the other, if the first rolls back).
   */
  async claim(messageId: string, subject: string): Promise<boolean> {
    if (!this.manager.queryRunner?.isTransactionActive) {
      throw new Error('Inbox.claim must run inside the transaction that applies the message');
    }
    // Plain SQL: this runs once per replicated message, where TypeORM's query builder costs more than the insert.
    const inserted = await rows(
      this.manager,
      `INSERT INTO processed_messages (message_id, subject) VALUES ($1, $2)
       ON CONFLICT (message_id, subject) DO NOTHING RETURNING message_id`,
      [messageId, subject],
    );
    return inserted.length === 1;
  }

  has(messageId: string, subject: string): Promise<boolean> {
    return this.manager.existsBy(ProcessedMessageEntity, { messageId, subject });
  }

  /** Those of `messageIds`, all on `subject`, processed here (and not yet forgotten, see prune). */
  async processedAmong(subject: string, messageIds: readonly string[]): Promise<Set<string>> {
    const found = await rows<{ message_id: string }>(
      this.manager,
      `SELECT message_id FROM processed_messages WHERE subject = $1 AND message_id = ANY ($2::text[])`,
      [subject, [...messageIds]],
    );
    return new Set(found.map((row) => row.message_id));
  }

  /** Forgets messages processed before `before`; the broker's redelivery window must be shorter. */
  async prune(before: Date): Promise<number> {
    const deleted = await this.manager.delete(ProcessedMessageEntity, { processedAt: LessThan(before) });
    return deleted.affected ?? 0;
  }
}
