import { EntityManager } from 'typeorm';

import { LinkEntity } from '../entities/link.entity';
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
}
