import { EntityManager } from 'typeorm';

import { rows } from './sql';

export interface OutboxMessage {
  readonly id: string;
  readonly subject: string;
  /** Deduplication ID for the broker (JetStream Nats-Msg-Id), unique in the outbox. */
  readonly msgId: string;
  readonly payload: Buffer;
  readonly createdAt: Date;
}

interface OutboxRow {
  id: string;
  subject: string;
  msg_id: string;
  payload: Buffer;
  created_at: Date;
}

/**
 * Messages written in the same transaction as the ledger change they announce, published after commit by a
 * relay; a crash between commit and publish only delays the message, and the msg_id lets the broker drop a
 * second publish.
 */
export class Outbox {
  constructor(private readonly manager: EntityManager) {}

  /** Appends a message; answers false when one with this msg_id is already in the outbox. */
  async append(subject: string, msgId: string, payload: Buffer): Promise<boolean> {
    const inserted = await rows(
      this.manager,
      `INSERT INTO outbox_messages (subject, msg_id, payload) VALUES ($1, $2, $3)
       ON CONFLICT (msg_id) DO NOTHING RETURNING id`,
      [subject, msgId, payload],
    );
    return inserted.length === 1;
  }

  /** Unpublished messages, oldest first. */
  async pending(limit: number): Promise<OutboxMessage[]> {
    const found = await rows<OutboxRow>(
      this.manager,
      `SELECT id, subject, msg_id, payload, created_at FROM outbox_messages
       WHERE published_at IS NULL ORDER BY id LIMIT $1`,
      [limit],
    );
    return found.map((row) => ({
      id: row.id,
      subject: row.subject,
      msgId: row.msg_id,
      payload: row.payload,
      createdAt: row.created_at,
    }));
  }

  /** Marks messages published; answers how many were still pending. */
  async markPublished(ids: readonly string[]): Promise<number> {
    const updated = await rows(
      this.manager,
      `UPDATE outbox_messages SET published_at = now() WHERE id = ANY ($1::bigint[]) AND published_at IS NULL
       RETURNING id`,
      [ids],
    );
    return updated.length;
  }
}
