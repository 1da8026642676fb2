import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A slave entry held by a delivery in flight: claimed until this instant, delivered only once the answer has
 * gone out. Marked delivered (and the key's material dropped) in the statement that claimed it, a key whose
 * answer never reached the slave, because the gateway died or the connection dropped on the way, was lost to
 * that slave. Now such an entry is released, or its claim lapses, and the slave can fetch the key again.
 * Adding a nullable column only changes the catalogue.
 */
export class DeliveryClaims1767744000000 implements MigrationInterface {
  name = 'DeliveryClaims1767744000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE key_slaves ADD COLUMN claimed_until timestamptz`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE key_slaves DROP COLUMN claimed_until`);
  }
}
