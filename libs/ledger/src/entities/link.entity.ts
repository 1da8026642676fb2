import { Check, Column, Entity, PrimaryGeneratedColumn, Unique } from 'typeorm';

/** One ordered pair of KMEs, source → target, with its own pool of blocks. */
@Entity({ name: 'links' })
@Unique('links_pair_unique', ['sourceKmeId', 'targetKmeId'])
@Check('links_block_bits_positive', 'block_bits > 0')
@Check('links_distinct_ends', 'source_kme_id <> target_kme_id')
export class LinkEntity {
  @PrimaryGeneratedColumn('identity', {
    name: 'id',
    generatedIdentity: 'ALWAYS',
    primaryKeyConstraintName: 'links_pkey',
  })
  id!: number;

  @Column({ name: 'source_kme_id', type: 'text' })
  sourceKmeId!: string;

  @Column({ name: 'target_kme_id', type: 'text' })
  targetKmeId!: string;

  @Column({ name: 'block_bits', type: 'integer' })
  blockBits!: number;

  @Column({ name: 'created_at', type: 'timestamptz', default: () => 'now()' })
  createdAt!: Date;
}
