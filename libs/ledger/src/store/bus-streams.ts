import { EntityManager } from 'typeorm';

import { rows } from './sql';

/**
 * The streams of this site's NATS that other sites copy (its OUT streams), each with when it was first found
 * there: made by a process of this site, or, for a stream older than this record, found at a start. The
 * ledger outlives a NATS server's store: a process that starts and finds such a stream missing asks here
 * whether the site is new, or whether the stream was lost and must not be made again without the operator.
 */
export class BusStreams {
  constructor(private readonly manager: EntityManager) {}

  /** When `stream` was first recorded; undefined when it never was (or the operator had it forgotten). */
  async recordedAt(stream: string): Promise<Date | undefined> {
    const [row] = await rows<{ recorded_at: Date }>(
      this.manager,
      `SELECT recorded_at FROM bus_streams WHERE name = $1`,
      [stream],
    );
    return row?.recorded_at;
  }

  /** Records that `stream` is on this site's NATS; a stream recorded before keeps its first time. */
  async record(stream: string): Promise<void> {
    await rows(this.manager, `INSERT INTO bus_streams (name) VALUES ($1) ON CONFLICT (name) DO NOTHING`, [
      stream,
    ]);
  }

  /**
   * Forgets `stream`, so that the next process to start makes it again (an operator's step in recovering a lost
   * stream). Answers when it was recorded, or undefined when it was not.
   */
  async forget(stream: string): Promise<Date | undefined> {
    const [row] = await rows<{ recorded_at: Date }>(
      this.manager,
      `DELETE FROM bus_streams WHERE name = $1 RETURNING recorded_at`,
      [stream],
    );
    return row?.recorded_at;
  }
}
