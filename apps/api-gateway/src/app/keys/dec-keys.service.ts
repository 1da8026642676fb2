import { DqkdConfig, type Sae } from '@dqkd/config';
import {
  buildKeyContainer,
  fail,
  ok,
  parseDecKeysBody,
  parseDecKeysQuery,
  type KeyContainer,
  type QueryInput,
  type Result,
} from '@dqkd/etsi014';
import { Injectable } from '@nestjs/common';

import { resolvePeerKme } from './addressing';
import { KeyDelivery } from './delivery';
import type { Departure } from './departure';

export type DecKeysInput = { readonly query: QueryInput } | { readonly body: unknown };

/**
 * dec_keys at the target: checks the request, then has KeyDelivery hand over every key or none, each at most
 * once to each slave (§5.4: the caller must be a slave of every key).
 */
@Injectable()
export class DecKeysService {
  constructor(
    private readonly config: DqkdConfig,
    private readonly delivery: KeyDelivery,
  ) {}

  /**
   * `departed` tells whether the caller has gone: a batch that starts then claims nothing for it. `answered`
   * tells, once the answer has been sent, whether it went out: only then are its keys delivered.
   */
  async decKeys(
    slave: Sae,
    pathId: string,
    input: DecKeysInput,
    departed: Departure,
    answered: () => Promise<boolean>,
  ): Promise<Result<KeyContainer>> {
    const { network, kme } = this.config;
    const source = resolvePeerKme(network, kme.id, pathId, 'master_SAE_ID');
    if (!source.ok) return source;
    const limits = network.linkLimits(source.value, kme.id);
    if (limits === undefined) return fail({ kind: 'server-error' });
    const request = 'query' in input ? parseDecKeysQuery(input.query) : parseDecKeysBody(input.body, limits);
    if (!request.ok) return request;

    const delivered = await this.delivery.deliver({
      sourceKmeId: source.value,
      slaveSaeId: slave.id,
      pathId,
      keyIds: request.value.keyIds,
      departed,
    });
    if (!delivered.ok) return fail(delivered.error);
    this.delivery.settleWhenAnswered(delivered.claims, answered());
    try {
      return ok(buildKeyContainer(delivered.keys));
    } finally {
      delivered.keys.forEach((key) => key.material.fill(0));
    }
  }
}
