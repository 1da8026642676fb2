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
 * Groups of this site's live target blocks start as not zeroed, so the next scrub looks at them (zeroing bits
 * that are zero already writes nothing); the others have no bits to zero here.
 */
export class KeyGroupBitsZeroed1767484800000 implements MigrationInterface {
  name = 'KeyGroupBitsZeroed1767484800000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE key_groups ADD COLUMN block_bits_zeroed boolean NOT NULL DEFAULT false`,
    );
    await queryRunner.query(`
      UPDATE key_groups g SET block_bits_zeroed = true
      WHERE NOT EXISTS (SELECT 1 FROM bit_ranges r JOIN blocks b ON b.id = r.block_id
                        WHERE r.reservation_id = g.reservation_id AND b.role = 'target'
                          AND b.material_ciphertext IS NOT NULL)`);
    await queryRunner.query(
      `CREATE INDEX key_groups_bits_not_zeroed ON key_groups (created_at) WHERE NOT block_bits_zeroed`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE key_groups DROP COLUMN block_bits_zeroed`);
  }
}
