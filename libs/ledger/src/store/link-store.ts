import { EntityManager } from 'typeorm';

import { rows } from './sql';
import { Link } from './types';

interface LinkRow {
  id: number;
  source_kme_id: string;
  target_kme_id: string;
  block_bits: number;
  created_at: Date;
}

const toLink = (row: LinkRow): Link => ({
  id: row.id,
  sourceKmeId: row.source_kme_id,
  targetKmeId: row.target_kme_id,
  blockBits: row.block_bits,
  createdAt: row.created_at,
});

export class LinkStore {
  constructor(private readonly manager: EntityManager) {}

  /** Creates the link source → target or returns it; the block size follows the latest configuration. */
  async ensure(sourceKmeId: string, targetKmeId: string, blockBits: number): Promise<Link> {
    const [row] = await rows<LinkRow>(
      this.manager,
      `INSERT INTO links (source_kme_id, target_kme_id, block_bits) VALUES ($1, $2, $3)
       ON CONFLICT (source_kme_id, target_kme_id) DO UPDATE SET block_bits = EXCLUDED.block_bits
       RETURNING id, source_kme_id, target_kme_id, block_bits, created_at`,
      [sourceKmeId, targetKmeId, blockBits],
    );
    return toLink(row);
  }

  async find(sourceKmeId: string, targetKmeId: string): Promise<Link | undefined> {
    const [row] = await rows<LinkRow>(
      this.manager,
      `SELECT id, source_kme_id, target_kme_id, block_bits, created_at FROM links
       WHERE source_kme_id = $1 AND target_kme_id = $2`,
      [sourceKmeId, targetKmeId],
    );
    return row === undefined ? undefined : toLink(row);
  }
}
