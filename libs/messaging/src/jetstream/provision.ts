import { JetStreamApiCodes, JetStreamApiError, type JetStreamManager } from '@nats-io/jetstream';

import { BusError, BusProvisionError } from '../errors';
import type { ResolvedConsumer, ResolvedStream, StreamRegister } from '../topology';
import { changedFields, consumerConfig, streamConfig } from './config';

export type ProvisionOutcome = 'created' | 'updated' | 'unchanged';

/** Creates the stream, or updates it to match; JetStream cannot change retention or storage in place. */
export async function ensureStream(jsm: JetStreamManager, spec: ResolvedStream): Promise<ProvisionOutcome> {
  const resource = `stream ${spec.name}`;
  const desired = streamConfig(spec);
  return provision(resource, async () => {
    const existing = await jsm.streams.info(spec.name).catch(absent(JetStreamApiCodes.StreamNotFound));
    if (!existing) {
      await jsm.streams.add(desired);
      return 'created';
    }
    const changed = changedFields(existing.config, desired);
    if (changed.length === 0) return 'unchanged';
    const fixed = changed.filter((f) => f === 'retention' || f === 'storage');
    if (fixed.length > 0) {
      throw new BusProvisionError(resource, { cause: new Error(`${fixed.join(', ')} cannot change`) });
    }
    const { name: _name, retention: _retention, storage: _storage, ...update } = desired;
    await jsm.streams.update(spec.name, update);
    return 'updated';
  });
}

/**
 * ensureStream for a stream the peers copy, at connect: a missing one is made only when `register` says the
 * site never made it, and is recorded there once it is on the server. `lost` when it was made before and is
 * gone: left to the operator (see StreamSpec.copiedByPeers).
 */
export async function ensureCopiedStream(
  jsm: JetStreamManager,
  spec: ResolvedStream,
  register: StreamRegister,
): Promise<ProvisionOutcome | 'lost'> {
  let missing: boolean;
  try {
    missing =
      (await jsm.streams.info(spec.name).catch(absent(JetStreamApiCodes.StreamNotFound))) === undefined;
  } catch (cause) {
    throw new BusProvisionError(`stream ${spec.name}`, { cause });
  }
  if (missing && (await register.madeAt(spec.name)) !== undefined) return 'lost';
  const outcome = await ensureStream(jsm, spec);
  await register.recordMade(spec.name);
  return outcome;
}

export async function ensureConsumer(
  jsm: JetStreamManager,
  spec: ResolvedConsumer,
): Promise<ProvisionOutcome> {
  const desired = consumerConfig(spec);
  return provision(`consumer ${spec.stream}/${spec.durable}`, async () => {
    const existing = await jsm.consumers
      .info(spec.stream, spec.durable)
      .catch(absent(JetStreamApiCodes.ConsumerNotFound));
    if (!existing) {
      await jsm.consumers.add(spec.stream, desired);
      return 'created';
    }
    if (changedFields(existing.config, desired).length === 0) return 'unchanged';
    const { durable_name: _d, ack_policy: _a, deliver_policy: _p, replay_policy: _r, ...update } = desired;
    await jsm.consumers.update(spec.stream, spec.durable, update);
    return 'updated';
  });
}

async function provision(resource: string, run: () => Promise<ProvisionOutcome>): Promise<ProvisionOutcome> {
  try {
    return await run();
  } catch (cause) {
    if (cause instanceof BusError) throw cause;
    throw new BusProvisionError(resource, { cause });
  }
}

function absent(code: number) {
  return (error: unknown): undefined => {
    if (error instanceof JetStreamApiError && error.code === code) return undefined;
    throw error;
  };
}
