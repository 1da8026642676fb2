import { EntityManager } from 'typeorm';

import { rows } from './sql';

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
    const inserted = await rows(
      this.manager,
      `INSERT INTO processed_messages (message_id, subject) VALUES ($1, $2)
       ON CONFLICT (message_id) DO NOTHING RETURNING message_id`,
      [messageId, subject],
    );
    return inserted.length === 1;
  }

  async has(messageId: string): Promise<boolean> {
    const found = await rows(this.manager, `SELECT 1 FROM processed_messages WHERE message_id = $1`, [
      messageId,
    ]);
    return found.length === 1;
  }

  /** Forgets messages processed before `before`; the broker's redelivery window must be shorter. */
  async prune(before: Date): Promise<number> {
    const deleted = await rows(
      this.manager,
      `DELETE FROM processed_messages WHERE processed_at < $1 RETURNING 1`,
      [before],
    );
    return deleted.length;
  }
}
