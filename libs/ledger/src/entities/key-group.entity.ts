import {
  Check,
  Column,
  Entity,
  Exclusion,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryColumn,
  type Relation,
  Unique,
} from 'typeorm';

import { ReservationEntity } from './reservation.entity';

/**
 * Keys of one size carved back to back from a reservation: `keyCount` slots of `keySize` bits from
 * `firstOffset` on. Each key takes one slot (see KeyEntity), so keys of one reservation are disjoint because
 * its groups are.
 */
@Entity({ name: 'key_groups' })
@Check('key_groups_shape_positive', 'key_size > 0 AND key_count > 0')
@Check(
  'key_groups_inside_reservation',
  'first_offset >= 0 AND first_offset::bigint + key_size::bigint * key_count <= reservation_bits',
)
// The rule that no bit of a reservation goes to two keys, enforced by the database for every writer.
@Exclusion(
  'key_groups_disjoint',
  'USING gist (reservation_id WITH =, int4range(first_offset, first_offset + key_size * key_count) WITH &&)',
)
// The target of the keys' composite foreign key, which carries a group's shape into each of its keys.
@Unique('key_groups_slots_unique', [
  'id',
  'reservationId',
  'reservationBits',
  'firstOffset',
  'keySize',
  'keyCount',
])
// What the ttl-reaper's scrub has left to do (see scrubKeyBits).
@Index('key_groups_bits_not_zeroed', ['createdAt', 'id'], { where: 'NOT block_bits_zeroed' })
export class KeyGroupEntity {
  @PrimaryColumn({ name: 'id', type: 'uuid', primaryKeyConstraintName: 'key_groups_pkey' })
  id!: string;

  @Column({ name: 'reservation_id', type: 'uuid' })
  reservationId!: string;

  @Column({ name: 'reservation_bits', type: 'integer' })
  reservationBits!: number;

  @ManyToOne(() => ReservationEntity, { nullable: false })
  @JoinColumn([
    {
      name: 'reservation_id',
      referencedColumnName: 'id',
      foreignKeyConstraintName: 'key_groups_reservation',
    },
    {
      name: 'reservation_bits',
      referencedColumnName: 'bits',
      foreignKeyConstraintName: 'key_groups_reservation',
    },
  ])
  reservation?: Relation<ReservationEntity>;

  @Column({ name: 'first_offset', type: 'integer' })
  firstOffset!: number;

  @Column({ name: 'key_size', type: 'integer' })
  keySize!: number;

  @Column({ name: 'key_count', type: 'integer' })
  keyCount!: number;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;

  /**
   * Whether this site's copies of the blocks no longer hold the group's bits: a target's keys hold their
   * material in their own rows, and the scrub zeroes the blocks' copy before the keys may be deleted. A
   * source's groups have none to zero (the gateway took the bits out of the blocks when it leased them).
   */
  @Column({ name: 'block_bits_zeroed', type: 'boolean', default: false })
  blockBitsZeroed!: boolean;
}
