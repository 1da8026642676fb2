import { EntityManager } from 'typeorm';

import { LinkEntity } from '../entities/link.entity';
import { rows } from './sql';
import { Link } from './types';

export class LinkStore {
  constructor(private readonly manager: EntityManager) {}

  /** Creates the link source → target or returns it; the block size follows the latest configuration. */
  async ensure(sourceKmeId: string, targetKmeId: string, blockBits: number): Promise<Link> {
    await this.manager.upsert(LinkEntity, { sourceKmeId, targetKmeId, blockBits }, [
      'sourceKmeId',
      'targetKmeId',
    ]);
    return this.manager.findOneByOrFail(LinkEntity, { sourceKmeId, targetKmeId });
  }

  async find(sourceKmeId: string, targetKmeId: string): Promise<Link | undefined> {
    return (await this.manager.findOneBy(LinkEntity, { sourceKmeId, targetKmeId })) ?? undefined;
  }

  /** Only the link's ID, in plain SQL: what the per-assignment path needs, without loading the entity. */
  async idOf(sourceKmeId: string, targetKmeId: string): Promise<number | undefined> {
    const [row] = await rows<{ id: number }>(
      this.manager,
      `SELECT id FROM links WHERE source_kme_id = $1 AND target_kme_id = $2`,
      [sourceKmeId, targetKmeId],
    );
    return row?.id;
  }
}
