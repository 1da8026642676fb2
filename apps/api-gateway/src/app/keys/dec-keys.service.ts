import { DqkdConfig, type Sae } from '@dqkd/config';
import {
  buildKeyContainer,
  fail,
  ok,
  parseDecKeysBody,
  parseDecKeysQuery,
  type EtsiError,
  type KeyContainer,
  type QueryInput,
  type Result,
} from '@dqkd/etsi014';
import { Ledger, type DeliveryRefusal, type KeyRecord, type Slave } from '@dqkd/ledger';
import { Injectable } from '@nestjs/common';

import { resolvePeerKme } from './addressing';

/** How long dec_keys waits for keys whose assignment is still on its way from the source. */
const ASSIGNMENT_WAIT_MS = 1_000;
const ASSIGNMENT_POLL_MS = 20;

export type DecKeysInput = { readonly query: QueryInput } | { readonly body: unknown };

/** A refusal inside the delivery transaction: thrown to roll back what earlier groups delivered. */
class Refused extends Error {
  constructor(readonly error: EtsiError) {
    super(error.kind);
  }
}

/**
 * dec_keys at the target: the caller must be a slave of every key (§5.4), and gets every key or none, each at
 * most once. Keys whose assignment has not arrived yet are waited for briefly.
 */
@Injectable()
export class DecKeysService {
  constructor(
    private readonly config: DqkdConfig,
    private readonly ledger: Ledger,
  ) {}

  async decKeys(slave: Sae, pathId: string, input: DecKeysInput): Promise<Result<KeyContainer>> {
    const { network, kme } = this.config;
    const source = resolvePeerKme(network, kme.id, pathId, 'master_SAE_ID');
    if (!source.ok) return source;
    const limits = network.linkLimits(source.value, kme.id);
    if (limits === undefined) return fail({ kind: 'server-error' });
    const request = 'query' in input ? parseDecKeysQuery(input.query) : parseDecKeysBody(input.body, limits);
    if (!request.ok) return request;
    const { keyIds } = request.value;

    const link = await this.ledger.links.find(source.value, kme.id);
    const found = await this.awaitKeys(keyIds);
    if (link === undefined || found.length !== keyIds.length) return fail({ kind: 'keys-not-found' });
    const byId = new Map(found.map((key) => [key.keyId, key]));
    const groups = new Map<string, { slave: Slave; keyIds: string[] }>();
    for (const keyId of keyIds) {
      const key = byId.get(keyId) as KeyRecord;
      const fromMaster = key.masterSaeId === pathId || network.sae(key.masterSaeId)?.kmeId === pathId;
      if (key.linkId !== link.id || !fromMaster) return fail({ kind: 'keys-not-found' });
      const as = slaveEntry(key, slave.id, kme.id);
      if (as === undefined) return fail({ kind: 'not-a-slave' });
      const group = groups.get(`${as.kind}:${as.id}`) ?? { slave: as, keyIds: [] };
      group.keyIds.push(keyId);
      groups.set(`${as.kind}:${as.id}`, group);
    }
    try {
      const material = await this.ledger.transaction(async (scope) => {
        const delivered = new Map<string, Buffer>();
        for (const group of groups.values()) {
          const result = await scope.keys.deliver(group.keyIds, group.slave);
          if (!result.ok) throw new Refused(refusalError(result.reason));
          result.keys.forEach((key) => delivered.set(key.keyId, key.material));
        }
        return delivered;
      });
      try {
        return ok(
          buildKeyContainer(
            keyIds.map((keyId) => ({
              keyId,
              material: material.get(keyId) as Buffer,
              expiresAt: byId.get(keyId)?.expiresAt,
            })),
          ),
        );
      } finally {
        material.forEach((bits) => bits.fill(0));
      }
    } catch (error) {
      if (error instanceof Refused) return fail(error.error);
      throw error;
    }
  }

  /** The keys found among `keyIds`, waiting up to ASSIGNMENT_WAIT_MS for missing ones to arrive. */
  private async awaitKeys(keyIds: readonly string[]): Promise<KeyRecord[]> {
    const deadline = Date.now() + ASSIGNMENT_WAIT_MS;
    for (;;) {
      const found = await this.ledger.keys.find(keyIds);
      if (found.length === keyIds.length || Date.now() + ASSIGNMENT_POLL_MS > deadline) return found;
      await new Promise((resolve) => setTimeout(resolve, ASSIGNMENT_POLL_MS));
    }
  }
}

/** The slave entry the caller fetches a key as: itself by name, or any SAE of this KME for a KME-addressed key. */
function slaveEntry(key: KeyRecord, saeId: string, kmeId: string): Slave | undefined {
  const named = key.slaves.find((entry) => entry.kind === 'sae' && entry.id === saeId);
  if (named !== undefined) return { kind: 'sae', id: saeId };
  const viaKme = key.slaves.find((entry) => entry.kind === 'kme' && entry.id === kmeId);
  return viaKme === undefined ? undefined : { kind: 'kme', id: kmeId };
}

function refusalError(reason: DeliveryRefusal): EtsiError {
  // Delivered, expired or emptied keys cannot be returned: the spec's one answer for that is "not found".
  return reason === 'not-a-slave' ? { kind: 'not-a-slave' } : { kind: 'keys-not-found' };
}
