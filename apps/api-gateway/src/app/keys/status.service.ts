import { DqkdConfig, type Sae } from '@dqkd/config';
import { buildStatus, fail, storedKeyCount, type Result, type Status } from '@dqkd/etsi014';
import { Ledger } from '@dqkd/ledger';
import { Injectable } from '@nestjs/common';

import { requestLimits, resolvePeerKme } from './addressing';

/** status: the link from this KME to the slave's, with its limits and the keys its ready pool holds now. */
@Injectable()
export class StatusService {
  constructor(
    private readonly config: DqkdConfig,
    private readonly ledger: Ledger,
  ) {}

  async status(master: Sae, pathId: string): Promise<Result<Status>> {
    const { network, kme } = this.config;
    const target = resolvePeerKme(network, kme.id, pathId, 'slave_SAE_ID');
    if (!target.ok) return target;
    const limits = requestLimits(network, kme.id, target.value);
    if (limits === undefined) return fail({ kind: 'server-error' });
    const link = await this.ledger.links.find(kme.id, target.value);
    const readyBits = link === undefined ? 0 : await this.ledger.blocks.readyBits(link.id);
    return buildStatus({
      sourceKmeId: kme.id,
      targetKmeId: target.value,
      masterSaeId: master.id,
      slaveSaeId: pathId,
      limits,
      storedKeyCount: storedKeyCount(readyBits, limits),
    });
  }
}
