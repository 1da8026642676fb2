import { Column, Entity, PrimaryColumn } from 'typeorm';

/** A NATS stream of this site that its peers copy, and when it was first recorded (see BusStreams). */
@Entity({ name: 'bus_streams' })
export class BusStreamEntity {
  @PrimaryColumn({ name: 'name', type: 'text', primaryKeyConstraintName: 'bus_streams_pkey' })
  name!: string;

  @Column({ name: 'recorded_at', type: 'timestamptz', default: () => 'now()' })
  recordedAt!: Date;
}
