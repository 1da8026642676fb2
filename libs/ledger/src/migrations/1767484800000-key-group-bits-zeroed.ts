import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Each key group says whether its bits in this site's copies of the blocks are zeroed yet.
 *
 * The ttl-reaper zeroed the bits of the keys recorded since its last scan, found by their recording time, and
 * deleted expired keys recorded before the scan. A key's recording time is its statement's start, so a key
 * whose statement began before a scan and committed after it was in neither scan, and could be deleted
 * before its bits were ever zeroed: they stayed in the block until it was burned, up to two hours. Now the
 * scrub takes every group not yet zeroed, and only the keys of zeroed groups are deleted.
 *
 * Every group recorded before starts as not zeroed, so the next scrub looks at each once: adding a column with a
 * default only changes the catalogue, where an update of every row would hold the table locked against the
 * site's writers for as long. A source's groups have nothing to zero (the gateway took the bits out of the
 * blocks when it leased them), and zeroing bits that are zero already writes nothing. Only the index is built
 * under a lock that keeps writers waiting, for as long as it takes.
 */
export class KeyGroupBitsZeroed1767484800000 implements MigrationInterface {
  name = 'KeyGroupBitsZeroed1767484800000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE key_groups ADD COLUMN block_bits_zeroed boolean NOT NULL DEFAULT false`,
    );
    await queryRunner.query(
      `CREATE INDEX key_groups_bits_not_zeroed ON key_groups (created_at, id) WHERE NOT block_bits_zeroed`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE key_groups DROP COLUMN block_bits_zeroed`);
  }
}
