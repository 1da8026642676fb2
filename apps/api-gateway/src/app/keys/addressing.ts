import type { LinkLimits, NetworkConfig } from '@dqkd/config';
import { fail, ok, type Result } from '@dqkd/etsi014';
import type { Slave } from '@dqkd/ledger';

/** Who an enc_keys request makes keys for: the slaves, all attached to one peer KME, the target of the link. */
export interface Addressees {
  readonly targetKmeId: string;
  readonly slaves: readonly Slave[];
}

/**
 * The slaves of an enc_keys request from the path ID and `additional_slave_SAE_IDs`. The path names an SAE (the
 * spec) or a peer KME (then any SAE of that KME may decode once); every slave must sit on one KME other than
 * this one.
 */
export function resolveAddressees(
  network: NetworkConfig,
  selfKmeId: string,
  pathId: string,
  additionalSaeIds: readonly string[],
): Result<Addressees> {
  const first = resolvePeer(network, selfKmeId, pathId, 'slave_SAE_ID', true);
  if (!first.ok) return first;
  const slaves: Slave[] = [first.value.slave];
  for (const saeId of additionalSaeIds) {
    const next = resolvePeer(network, selfKmeId, saeId, 'additional_slave_SAE_IDs', false);
    if (!next.ok) return next;
    if (next.value.kmeId !== first.value.kmeId) return fail({ kind: 'slaves-on-several-kmes' });
    if (saeId === pathId) return fail({ kind: 'duplicate-additional-slave', saeId, ofPath: true });
    slaves.push(next.value.slave);
  }
  return ok({ targetKmeId: first.value.kmeId, slaves });
}

/**
 * The peer KME a path ID of status or dec_keys stands for: the KME of the named SAE, or the named KME itself.
 * The ID must not be of this KME.
 */
export function resolvePeerKme(
  network: NetworkConfig,
  selfKmeId: string,
  pathId: string,
  parameter: 'slave_SAE_ID' | 'master_SAE_ID',
): Result<string> {
  const peer = resolvePeer(network, selfKmeId, pathId, parameter, true);
  return peer.ok ? ok(peer.value.kmeId) : peer;
}

/**
 * The limits of a request from this KME to `targetKmeId`: the link's, with max_SAE_ID_count capped at the SAEs
 * a request can add, so that status advertises what enc_keys then accepts. That is every SAE of the target KME
 * but one: the slave the path names, or, when the path names the KME, the SAE left to take the KME's entry (a
 * request naming them all would make a key whose KME entry nobody can claim, its material kept to its deadline).
 * Undefined when the link is unknown.
 */
export function requestLimits(
  network: NetworkConfig,
  selfKmeId: string,
  targetKmeId: string,
): LinkLimits | undefined {
  const limits = network.linkLimits(selfKmeId, targetKmeId);
  if (limits === undefined) return undefined;
  const nameable = Math.max(network.saesOf(targetKmeId).length - 1, 0);
  return { ...limits, maxSaeIdCount: Math.min(limits.maxSaeIdCount, nameable) };
}

function resolvePeer(
  network: NetworkConfig,
  selfKmeId: string,
  id: string,
  member: string,
  kmeAllowed: boolean,
): Result<{ kmeId: string; slave: Slave }> {
  const sae = network.sae(id);
  if (sae !== undefined) {
    if (sae.kmeId === selfKmeId) return fail({ kind: 'slave-on-own-kme', member, saeId: id });
    return ok({ kmeId: sae.kmeId, slave: { kind: 'sae', id } });
  }
  if (kmeAllowed && network.kme(id) !== undefined) {
    if (id === selfKmeId) return fail({ kind: 'slave-on-own-kme', member, saeId: id });
    return ok({ kmeId: id, slave: { kind: 'kme', id } });
  }
  return fail({ kind: 'unknown-sae', member, saeId: id });
}
