import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The streams of this site's NATS that other sites copy, each with when it was first recorded. A peer copies
 * such a stream from the sequence it reached, so one made again after NATS lost it would have its first
 * messages skipped at every peer without a word; the record lets a starting process tell a new site (make
 * the stream) from a lost stream (leave it to the operator). See BusStreams.
 */
export class BusStreams1767571200000 implements MigrationInterface {
  name = 'BusStreams1767571200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE bus_streams (name text PRIMARY KEY, recorded_at timestamptz NOT NULL DEFAULT now())`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE bus_streams`);
  }
}
