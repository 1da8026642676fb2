import {
  Check,
  Column,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  OneToMany,
  PrimaryColumn,
  type Relation,
  Unique,
} from 'typeorm';

import { KeyGroupEntity } from './key-group.entity';
import { KeySlaveEntity } from './key-slave.entity';
import { LinkEntity } from './link.entity';

/**
 * A key: `size` bits at `reservationOffset` of a reservation, in slot `groupOrdinal` of its group. The material
 * columns are `select: false` (only the target holds material, until every slave has it); it is reached only
 * through KeyStore.readMaterial / deliver.
 */
@Entity({ name: 'keys' })
@Check('keys_size_positive', 'size > 0')
@Check('keys_inside_reservation', 'reservation_offset >= 0 AND reservation_offset + size <= reservation_bits')
@Check(
  'keys_material_whole',
  'num_nonnulls(material_ciphertext, material_wrapped_key, material_kek_id) IN (0, 3)',
)
// Keys of one reservation never share a bit, whoever writes them: each takes its own slot of its group, and
// the groups of a reservation are disjoint.
@Check(
  'keys_group_slot',
  'group_ordinal >= 0 AND group_ordinal < group_key_count AND reservation_offset = group_first_offset + group_ordinal * size',
)
@Unique('keys_group_slot_unique', ['groupId', 'groupOrdinal'])
@Index('keys_expires_at', ['expiresAt'])
@Index('keys_rewrap', ['materialKekId'], { where: 'material_kek_id IS NOT NULL' })
export class KeyEntity {
  @PrimaryColumn({ name: 'key_id', type: 'uuid', primaryKeyConstraintName: 'keys_pkey' })
  keyId!: string;

  @Column({ name: 'link_id', type: 'integer' })
  linkId!: number;

  @ManyToOne(() => LinkEntity, { nullable: false })
  @JoinColumn({ name: 'link_id', foreignKeyConstraintName: 'keys_link_id_fkey' })
  link?: Relation<LinkEntity>;

  @Column({ name: 'master_sae_id', type: 'text' })
  masterSaeId!: string;

  @Column({ name: 'size', type: 'integer' })
  size!: number;

  @Column({ name: 'reservation_id', type: 'uuid' })
  reservationId!: string;

  @Column({ name: 'reservation_bits', type: 'integer' })
  reservationBits!: number;

  @Column({ name: 'reservation_offset', type: 'integer' })
  reservationOffset!: number;

  @Column({ name: 'group_id', type: 'uuid' })
  groupId!: string;

  @Column({ name: 'group_ordinal', type: 'integer' })
  groupOrdinal!: number;

  @Column({ name: 'group_first_offset', type: 'integer' })
  groupFirstOffset!: number;

  @Column({ name: 'group_key_count', type: 'integer' })
  groupKeyCount!: number;

  @ManyToOne(() => KeyGroupEntity, { nullable: false })
  @JoinColumn([
    { name: 'group_id', referencedColumnName: 'id', foreignKeyConstraintName: 'keys_group' },
    { name: 'reservation_id', referencedColumnName: 'reservationId', foreignKeyConstraintName: 'keys_group' },
    {
      name: 'reservation_bits',
      referencedColumnName: 'reservationBits',
      foreignKeyConstraintName: 'keys_group',
    },
    {
      name: 'group_first_offset',
      referencedColumnName: 'firstOffset',
      foreignKeyConstraintName: 'keys_group',
    },
    { name: 'size', referencedColumnName: 'keySize', foreignKeyConstraintName: 'keys_group' },
    { name: 'group_key_count', referencedColumnName: 'keyCount', foreignKeyConstraintName: 'keys_group' },
  ])
  group?: Relation<KeyGroupEntity>;

  @Column({ name: 'material_ciphertext', type: 'bytea', nullable: true, select: false })
  materialCiphertext?: Buffer | null;

  @Column({ name: 'material_wrapped_key', type: 'bytea', nullable: true, select: false })
  materialWrappedKey?: Buffer | null;

  @Column({ name: 'material_kek_id', type: 'integer', nullable: true })
  materialKekId!: number | null;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt!: Date;

  @OneToMany(() => KeySlaveEntity, (slave) => slave.key)
  slaves?: Relation<KeySlaveEntity>[];
}
