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

  /**
   * Creates the link source → target or returns it; the block size follows the latest configuration. Writes
   * only when something changes, and then only the block size: every key and block recorded on the link holds
   * a key-share lock on its row until commit, so a write that touched the row on every call (as an upsert of
   * all columns does) would queue every ledger transaction of the link behind it.
   */
  async ensure(sourceKmeId: string, targetKmeId: string, blockBits: number): Promise<Link> {
    const found = await this.find(sourceKmeId, targetKmeId);
    if (found !== undefined && found.blockBits === blockBits) return found;
    await rows(
      this.manager,
      `INSERT INTO links (source_kme_id, target_kme_id, block_bits) VALUES ($1, $2, $3)
       ON CONFLICT (source_kme_id, target_kme_id) DO UPDATE SET block_bits = EXCLUDED.block_bits`,
      [sourceKmeId, targetKmeId, blockBits],
    );
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
