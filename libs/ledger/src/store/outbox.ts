import { EntityManager, In, IsNull, MoreThan, Not } from 'typeorm';

import { OutboxMessageEntity } from '../entities/outbox-message.entity';
import { rows } from './sql';

export interface OutboxMessage {
  readonly id: string;
  readonly subject: string;
  /** Deduplication ID for the broker (JetStream Nats-Msg-Id), unique in the outbox. */
  readonly msgId: string;
  readonly payload: Buffer;
  readonly createdAt: Date;
}

/** A published message of the outbox, as sentBetween finds it. */
export interface SentRecord {
  readonly id: string;
  readonly subject: string;
  readonly msgId: string;
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
    const inserted = await this.manager
      .createQueryBuilder()
      .insert()
      .into(OutboxMessageEntity)
      .values({ subject, msgId, payload })
      .orIgnore()
      .returning('id')
      .execute();
    return (inserted.raw as unknown[]).length === 1;
  }

  /** Unpublished messages, oldest first. */
  /** Up to `limit` messages not yet published, oldest first, with IDs after `after` when given. */
  async pending(limit: number, after?: string): Promise<OutboxMessage[]> {
    const found = await this.manager.find(OutboxMessageEntity, {
      select: { id: true, subject: true, msgId: true, payload: true, createdAt: true },
      where: { publishedAt: IsNull(), ...(after !== undefined && { id: MoreThan(after) }) },
      order: { id: 'ASC' },
      take: limit,
    });
    return found.map(({ id, subject, msgId, payload, createdAt }) => ({
      id,
      subject,
      msgId,
      payload,
      createdAt,
    }));
  }

  /**
   * Up to `limit` of the messages appended since `since` and published before `before`, with IDs after
   * `after`, in ID order and without payloads: for a broker that kept nothing across a restart (the embedded
   * default's in-process bus), to find those a receiver never processed and publish them again (see
   * republish).
   */
  async sentBetween(since: Date, before: Date, after: string, limit: number): Promise<SentRecord[]> {
    const found = await rows<{ id: string; subject: string; msg_id: string }>(
      this.manager,
      `SELECT id::text AS id, subject, msg_id FROM outbox_messages
       WHERE published_at < $2 AND created_at >= $1 AND id > $3::bigint ORDER BY id LIMIT $4`,
      [since, before, after, limit],
    );
    return found.map((row) => ({ id: row.id, subject: row.subject, msgId: row.msg_id }));
  }

  /**
   * Marks published messages unpublished, so the relay publishes them again; answers how many. The broker's
   * duplicate window and the receiver's inbox make a message that did arrive harmless the second time.
   */
  async republish(ids: readonly string[]): Promise<number> {
    if (ids.length === 0) return 0;
    const updated = await this.manager.update(
      OutboxMessageEntity,
      { id: In([...ids]), publishedAt: Not(IsNull()) },
      { publishedAt: null },
    );
    return updated.affected ?? 0;
  }

  /**
   * Deletes up to `limit` of the messages published before `before`, oldest first: the broker and the
   * receiver's inbox keep what a repeat needs, so an old published row only held sealed payloads for nothing.
   * Pending messages stay. Answers how many.
   */
  async prune(before: Date, limit: number): Promise<number> {
    const deleted = await this.manager.query(
      `DELETE FROM outbox_messages WHERE id IN (
         SELECT id FROM outbox_messages WHERE published_at < $1 ORDER BY id LIMIT $2)`,
      [before, limit],
    );
    return (deleted as [unknown, number])[1];
  }

  /** Marks messages published; answers how many were still pending. */
  async markPublished(ids: readonly string[]): Promise<number> {
    const updated = await this.manager.update(
      OutboxMessageEntity,
      { id: In([...ids]), publishedAt: IsNull() },
      { publishedAt: () => 'now()' },
    );
    return updated.affected ?? 0;
  }
}
