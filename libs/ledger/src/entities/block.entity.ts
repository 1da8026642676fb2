import {
  Check,
  Column,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryColumn,
  type Relation,
  Unique,
} from 'typeorm';

import type { BlockRole, BlockState } from '../store/types';
import { LinkEntity } from './link.entity';

/**
 * One block of a link's pool. The material columns are `select: false`: a plain `find` never loads ciphertext,
 * and material is reached only through BlockStore.readMaterial / readBits.
 */
@Entity({ name: 'blocks' })
// The target of bit_ranges' composite foreign key, which carries the block size into every range.
@Unique('blocks_id_bits_unique', ['id', 'bits'])
@Check('blocks_role_known', `role IN ('source', 'target')`)
@Check('blocks_state_known', `state IN ('pending', 'ready', 'burned')`)
@Check('blocks_bits_positive', 'bits > 0')
@Check('blocks_reserved_within', 'reserved_bits BETWEEN 0 AND bits')
@Check(
  'blocks_material_whole',
  'num_nonnulls(material_ciphertext, material_wrapped_key, material_kek_id) IN (0, 3)',
)
@Check('blocks_live_have_material', `state = 'burned' OR material_ciphertext IS NOT NULL`)
@Check(
  'blocks_burned_have_no_material',
  `state <> 'burned' OR (material_ciphertext IS NULL AND burn_reason IS NOT NULL AND burned_at IS NOT NULL)`,
)
@Check('blocks_ready_stamped', `state <> 'ready' OR ready_at IS NOT NULL`)
@Index('blocks_carvable', ['linkId', 'expiresAt'], { where: `state = 'ready' AND reserved_bits < bits` })
@Index('blocks_expires_at', ['expiresAt'])
@Index('blocks_rewrap', ['materialKekId'], { where: 'material_kek_id IS NOT NULL' })
export class BlockEntity {
  @PrimaryColumn({ name: 'id', type: 'uuid', primaryKeyConstraintName: 'blocks_pkey' })
  id!: string;

  @Column({ name: 'link_id', type: 'integer' })
  linkId!: number;

  @ManyToOne(() => LinkEntity, { nullable: false })
  @JoinColumn({ name: 'link_id', foreignKeyConstraintName: 'blocks_link_id_fkey' })
  link?: Relation<LinkEntity>;

  @Column({ name: 'role', type: 'text' })
  role!: BlockRole;

  @Column({ name: 'state', type: 'text', default: 'pending' })
  state!: BlockState;

  @Column({ name: 'bits', type: 'integer' })
  bits!: number;

  @Column({ name: 'reserved_bits', type: 'integer', default: 0 })
  reservedBits!: number;

  @Column({ name: 'material_ciphertext', type: 'bytea', nullable: true, select: false })
  materialCiphertext?: Buffer | null;

  @Column({ name: 'material_wrapped_key', type: 'bytea', nullable: true, select: false })
  materialWrappedKey?: Buffer | null;

  @Column({ name: 'material_kek_id', type: 'integer', nullable: true })
  materialKekId!: number | null;

  /** Sealed BLAST metadata: what lets the target regenerate the block, never the block itself. */
  @Column({ name: 'metadata', type: 'bytea' })
  metadata!: Buffer;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;

  @Column({ name: 'ready_at', type: 'timestamptz', nullable: true })
  readyAt!: Date | null;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt!: Date;

  @Column({ name: 'burned_at', type: 'timestamptz', nullable: true })
  burnedAt!: Date | null;

  @Column({ name: 'burn_reason', type: 'text', nullable: true })
  burnReason!: string | null;
}
