import { DqkdConfig, poolCeilingBits, type Sae } from '@dqkd/config';
import {
  buildKeyContainer,
  fail,
  ok,
  parseEncKeysBody,
  parseEncKeysQuery,
  type KeyContainer,
  type QueryInput,
  type Result,
} from '@dqkd/etsi014';
import { Injectable } from '@nestjs/common';

import { requestLimits, resolveAddressees, resolvePeerKme } from './addressing';
import type { Departure } from './departure';
import { KeyIssuer } from './issuance';

/** The enc_keys request as it came: a query (GET) or a parsed JSON body (POST). */
export type EncKeysInput = { readonly query: QueryInput } | { readonly body: unknown };

/** enc_keys at the source: checks and addresses the request, then has the KeyIssuer carve and announce the keys. */
@Injectable()
export class EncKeysService {
  constructor(
    private readonly config: DqkdConfig,
    private readonly issuer: KeyIssuer,
  ) {}

  /** `departed` tells whether the caller has gone: a batch that starts then carves nothing for it. */
  async encKeys(
    master: Sae,
    pathId: string,
    input: EncKeysInput,
    departed: Departure,
  ): Promise<Result<KeyContainer>> {
    const { network, kme } = this.config;
    const target = resolvePeerKme(network, kme.id, pathId, 'slave_SAE_ID');
    if (!target.ok) return target;
    const limits = requestLimits(network, kme.id, target.value);
    if (limits === undefined || network.kme(target.value) === undefined)
      return fail({ kind: 'server-error' });
    const request =
      'query' in input ? parseEncKeysQuery(input.query, limits) : parseEncKeysBody(input.body, limits);
    if (!request.ok) return request;
    const addressees = resolveAddressees(network, kme.id, pathId, request.value.additionalSlaveSaeIds);
    if (!addressees.ok) return addressees;

    const { number, size, ttlSeconds } = request.value;
    // Waiting for the generator could not help: the pool never holds more (see poolCeilingBits).
    const poolBits = poolCeilingBits(limits.highWatermarkBits, network.blast.blockBits);
    if (number * size > poolBits) return fail({ kind: 'request-beyond-pool', bits: number * size, poolBits });
    const issued = await this.issuer.issue({
      targetKmeId: target.value,
      masterSaeId: master.id,
      slaves: addressees.value.slaves,
      number,
      size,
      ttlSeconds,
      departed,
    });
    if (!issued.ok) return fail({ kind: 'insufficient-key-material' });
    try {
      return ok(buildKeyContainer(issued.keys.map((key) => ({ ...key, expiresAt: issued.expiresAt }))));
    } finally {
      issued.keys.forEach((key) => key.material.fill(0));
    }
  }
}
