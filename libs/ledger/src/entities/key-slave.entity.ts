import { Check, Column, Entity, JoinColumn, ManyToOne, PrimaryColumn, type Relation } from 'typeorm';

import type { Slave } from '../store/types';
import { KeyEntity } from './key.entity';

/** One slave of a key and whether it has taken the key yet; a key is delivered at most once to each slave. */
@Entity({ name: 'key_slaves' })
@Check('key_slaves_kind_known', `kind IN ('sae', 'kme')`)
export class KeySlaveEntity {
  @PrimaryColumn({ name: 'key_id', type: 'uuid', primaryKeyConstraintName: 'key_slaves_pkey' })
  keyId!: string;

  @PrimaryColumn({ name: 'slave_id', type: 'text', primaryKeyConstraintName: 'key_slaves_pkey' })
  slaveId!: string;

  @ManyToOne(() => KeyEntity, (key) => key.slaves, { nullable: false, onDelete: 'CASCADE' })
  @JoinColumn({ name: 'key_id', foreignKeyConstraintName: 'key_slaves_key_id_fkey' })
  key?: Relation<KeyEntity>;

  @Column({ name: 'kind', type: 'text' })
  kind!: Slave['kind'];

  @Column({ name: 'delivered_at', type: 'timestamptz', nullable: true })
  deliveredAt!: Date | null;

  /** Until when a delivery in flight holds the entry (see KeyStore.claim). */
  @Column({ name: 'claimed_until', type: 'timestamptz', nullable: true })
  claimedUntil!: Date | null;
}
