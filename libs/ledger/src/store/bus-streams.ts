import { EntityManager } from 'typeorm';

import { rows } from './sql';

/**
 * The streams of this site's NATS that other sites copy (its OUT streams), and when this site first made each.
 * The ledger outlives a NATS server's store: a process that starts and finds such a stream missing asks here
 * whether the site is new, or whether the stream was lost and must not be made again without the operator.
 */
export class BusStreams {
  constructor(private readonly manager: EntityManager) {}

  /** When this site first made `stream`; undefined when it never did (or the operator forgot it). */
  async madeAt(stream: string): Promise<Date | undefined> {
    const [row] = await rows<{ made_at: Date }>(
      this.manager,
      `SELECT made_at FROM bus_streams WHERE name = $1`,
      [stream],
    );
    return row?.made_at;
  }

  /** Records that `stream` exists on this site's NATS; a stream recorded before keeps its first time. */
  async recordMade(stream: string): Promise<void> {
    await rows(this.manager, `INSERT INTO bus_streams (name) VALUES ($1) ON CONFLICT (name) DO NOTHING`, [
      stream,
    ]);
  }

  /**
   * Forgets `stream`, so that the next process to start makes it again (the operator's step, once the peers
   * are ready to copy it from its start). Answers when it had been made, or undefined when it was not recorded.
   */
  async forget(stream: string): Promise<Date | undefined> {
    const [row] = await rows<{ made_at: Date }>(
      this.manager,
      `DELETE FROM bus_streams WHERE name = $1 RETURNING made_at`,
      [stream],
    );
    return row?.made_at;
  }
}
