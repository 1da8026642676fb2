import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Keys of one reservation stay disjoint through `key_groups` instead of an exclusion constraint on every key.
 *
 * A group is a run of keys of one size carved back to back from a reservation (an assignment's keys of one
 * size). Groups of a reservation are disjoint by an exclusion constraint, and each key takes one slot of its
 * group: its offset is the group's first offset plus its ordinal times its size, its ordinal is below the
 * group's count and unique within the group. Two keys therefore never share a bit, whoever writes them, as
 * before; but the GiST entry, the costliest of a key's index entries and costlier as the table grows, is now
 * one per group (one per enc_keys batch and size) instead of one per key.
 *
 * The keys' own foreign key to their reservation goes: it was served by the exclusion constraint's index, and
 * the group's key (which carries the reservation and its size into the key) and the group's own foreign key
 * say the same. Keys recorded before this migration each become a group of one.
 *
 * Writers of the old schema cannot insert keys once this has run (the group columns are required): stop the
 * gateways, replication and reapers of a site for this upgrade (docs/operations.md).
 */
export class KeyGroups1767312000000 implements MigrationInterface {
  name = 'KeyGroups1767312000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE key_groups (
        id uuid PRIMARY KEY,
        reservation_id uuid NOT NULL,
        reservation_bits integer NOT NULL,
        first_offset integer NOT NULL,
        key_size integer NOT NULL,
        key_count integer NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT key_groups_reservation FOREIGN KEY (reservation_id, reservation_bits)
          REFERENCES reservations (id, bits),
        CONSTRAINT key_groups_shape_positive CHECK (key_size > 0 AND key_count > 0),
        CONSTRAINT key_groups_inside_reservation
          CHECK (first_offset >= 0 AND first_offset::bigint + key_size::bigint * key_count <= reservation_bits),
        CONSTRAINT key_groups_disjoint EXCLUDE USING gist
          (reservation_id WITH =, int4range(first_offset, first_offset + key_size * key_count) WITH &&),
        CONSTRAINT key_groups_slots_unique
          UNIQUE (id, reservation_id, reservation_bits, first_offset, key_size, key_count)
      )`);

    await queryRunner.query(`
      ALTER TABLE keys
        ADD COLUMN group_id uuid,
        ADD COLUMN group_ordinal integer,
        ADD COLUMN group_first_offset integer,
        ADD COLUMN group_key_count integer`);
    await queryRunner.query(`
      INSERT INTO key_groups (id, reservation_id, reservation_bits, first_offset, key_size, key_count, created_at)
      SELECT key_id, reservation_id, reservation_bits, reservation_offset, size, 1, created_at FROM keys`);
    await queryRunner.query(`
      UPDATE keys SET group_id = key_id, group_ordinal = 0, group_first_offset = reservation_offset,
        group_key_count = 1`);
    await queryRunner.query(`
      ALTER TABLE keys
        ALTER COLUMN group_id SET NOT NULL,
        ALTER COLUMN group_ordinal SET NOT NULL,
        ALTER COLUMN group_first_offset SET NOT NULL,
        ALTER COLUMN group_key_count SET NOT NULL,
        ADD CONSTRAINT keys_group FOREIGN KEY
          (group_id, reservation_id, reservation_bits, group_first_offset, size, group_key_count)
          REFERENCES key_groups (id, reservation_id, reservation_bits, first_offset, key_size, key_count),
        ADD CONSTRAINT keys_group_slot CHECK (group_ordinal >= 0 AND group_ordinal < group_key_count
          AND reservation_offset = group_first_offset + group_ordinal * size),
        ADD CONSTRAINT keys_group_slot_unique UNIQUE (group_id, group_ordinal),
        DROP CONSTRAINT keys_disjoint,
        DROP CONSTRAINT keys_reservation`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE keys
        ADD CONSTRAINT keys_disjoint EXCLUDE USING gist
          (reservation_id WITH =, int4range(reservation_offset, reservation_offset + size) WITH &&),
        ADD CONSTRAINT keys_reservation FOREIGN KEY (reservation_id, reservation_bits)
          REFERENCES reservations (id, bits),
        DROP COLUMN group_id,
        DROP COLUMN group_ordinal,
        DROP COLUMN group_first_offset,
        DROP COLUMN group_key_count`);
    await queryRunner.query(`DROP TABLE key_groups`);
  }
}
