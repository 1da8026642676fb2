import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The inbox remembers a message by its subject and ID together, no longer by its ID alone.
 *
 * The subject names the sending KME (`<prefix>.<source>.out.<target>.<kind>`), and a site's IN stream copies
 * from each peer only the subjects under that peer's name. Keyed by ID alone, the inbox let one peer take
 * another's message ID first: with three or more KMEs, a hostile KME that saw a block's metadata on its way
 * could publish a message of its own under that ID, and the genuine metadata was then skipped as already
 * processed (its block never confirmed, so burned at its source). Messages processed before this migration
 * keep the subject they were recorded with.
 *
 * Writers of the version before name `message_id` alone as their conflict target, which Postgres refuses once
 * it is no longer a key: stop a site's gateways and replication for this upgrade (docs/operations.md).
 */
export class InboxPerSender1767398400000 implements MigrationInterface {
  name = 'InboxPerSender1767398400000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE processed_messages
        DROP CONSTRAINT processed_messages_pkey,
        ADD CONSTRAINT processed_messages_pkey PRIMARY KEY (message_id, subject)`);
  }

  /**
   * Of one message ID recorded from several senders only one record can stay: the newest, which is pruned
   * last, so the ID stays known as long as any of its messages may still come again.
   */
  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      DELETE FROM processed_messages p USING processed_messages q
      WHERE p.message_id = q.message_id AND (q.processed_at, q.subject) > (p.processed_at, p.subject)`);
    await queryRunner.query(`
      ALTER TABLE processed_messages
        DROP CONSTRAINT processed_messages_pkey,
        ADD CONSTRAINT processed_messages_pkey PRIMARY KEY (message_id)`);
  }
}
