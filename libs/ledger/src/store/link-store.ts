import { EntityManager } from 'typeorm';

import { LinkEntity } from '../entities/link.entity';
import { rows } from './sql';
import { Link } from './types';

/** Link IDs by `source target`, shared by every scope of one ledger: a link's ID never changes. */
export type LinkIdCache = Map<string, number>;

export class LinkStore {
  constructor(
    private readonly manager: EntityManager,
    private readonly ids: LinkIdCache,
  ) {}

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

  /**
   * Only the link's ID, looked up once per ledger (then from memory): what the per-batch paths need, without
   * loading the entity.
   */
  async idOf(sourceKmeId: string, targetKmeId: string): Promise<number | undefined> {
    const key = `${sourceKmeId} ${targetKmeId}`;
    const known = this.ids.get(key);
    if (known !== undefined) return known;
    const [row] = await rows<{ id: number }>(
      this.manager,
      `SELECT id FROM links WHERE source_kme_id = $1 AND target_kme_id = $2`,
      [sourceKmeId, targetKmeId],
    );
    if (row !== undefined) this.ids.set(key, row.id);
    return row?.id;
  }
}
