import { EntityManager, LessThan } from 'typeorm';

import { ProcessedMessageEntity } from '../entities/processed-message.entity';

/** Messages already applied, so a redelivered message has no second effect. */
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
    const inserted = await this.manager
      .createQueryBuilder()
      .insert()
      .into(ProcessedMessageEntity)
      .values({ messageId, subject })
      .orIgnore()
      .returning('message_id')
      .execute();
    return (inserted.raw as unknown[]).length === 1;
  }

  has(messageId: string): Promise<boolean> {
    return this.manager.existsBy(ProcessedMessageEntity, { messageId });
  }

  /** Forgets messages processed before `before`; the broker's redelivery window must be shorter. */
  async prune(before: Date): Promise<number> {
    const deleted = await this.manager.delete(ProcessedMessageEntity, { processedAt: LessThan(before) });
    return deleted.affected ?? 0;
  }
}
