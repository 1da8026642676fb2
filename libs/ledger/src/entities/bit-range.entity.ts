import {
  Check,
  Column,
  Entity,
  Exclusion,
  JoinColumn,
  ManyToOne,
  PrimaryColumn,
  type Relation,
} from 'typeorm';

import { BlockEntity } from './block.entity';
import { ReservationEntity } from './reservation.entity';

/** Bits of one block that belong to a reservation, at position `ordinal` of its run. */
@Entity({ name: 'bit_ranges' })
@Check('bit_ranges_ordinal_natural', 'ordinal >= 0')
@Check('bit_ranges_not_empty', 'NOT isempty(bits)')
@Check(
  'bit_ranges_inside_block',
  'NOT lower_inf(bits) AND NOT upper_inf(bits) AND lower(bits) >= 0 AND upper(bits) <= block_bits',
)
// The rule that no bit of a block is reserved twice, enforced by the database for every writer.
@Exclusion('bit_ranges_disjoint', 'USING gist (block_id WITH =, bits WITH &&)')
export class BitRangeEntity {
  @PrimaryColumn({ name: 'reservation_id', type: 'uuid', primaryKeyConstraintName: 'bit_ranges_pkey' })
  reservationId!: string;

  @PrimaryColumn({ name: 'ordinal', type: 'integer', primaryKeyConstraintName: 'bit_ranges_pkey' })
  ordinal!: number;

  @ManyToOne(() => ReservationEntity, { nullable: false, onDelete: 'CASCADE' })
  @JoinColumn({ name: 'reservation_id', foreignKeyConstraintName: 'bit_ranges_reservation_id_fkey' })
  reservation?: Relation<ReservationEntity>;

  @Column({ name: 'block_id', type: 'uuid' })
  blockId!: string;

  @Column({ name: 'block_bits', type: 'integer' })
  blockBits!: number;

  @ManyToOne(() => BlockEntity, { nullable: false, onDelete: 'CASCADE' })
  @JoinColumn([
    { name: 'block_id', referencedColumnName: 'id', foreignKeyConstraintName: 'bit_ranges_block' },
    { name: 'block_bits', referencedColumnName: 'bits', foreignKeyConstraintName: 'bit_ranges_block' },
  ])
  block?: Relation<BlockEntity>;

  /** A Postgres int4range, `[start,end)` as text. */
  @Column({ name: 'bits', type: 'int4range' })
  bits!: string;
}
