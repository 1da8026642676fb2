import { Check, Column, Entity, JoinColumn, ManyToOne, PrimaryColumn, type Relation, Unique } from 'typeorm';

import { LinkEntity } from './link.entity';

/** An ordered run of bits of one link; its bit_ranges say where the bits lie, its keys are carved from it. */
@Entity({ name: 'reservations' })
// The target of the key groups' composite foreign key, which carries the reservation size into every group
// (and from there into every key).
@Unique('reservations_id_bits_unique', ['id', 'bits'])
@Check('reservations_bits_positive', 'bits > 0')
export class ReservationEntity {
  @PrimaryColumn({ name: 'id', type: 'uuid', primaryKeyConstraintName: 'reservations_pkey' })
  id!: string;

  @Column({ name: 'link_id', type: 'integer' })
  linkId!: number;

  @ManyToOne(() => LinkEntity, { nullable: false })
  @JoinColumn({ name: 'link_id', foreignKeyConstraintName: 'reservations_link_id_fkey' })
  link?: Relation<LinkEntity>;

  @Column({ name: 'bits', type: 'integer' })
  bits!: number;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;
}
