import { JetStreamApiCodes, JetStreamApiError, type JetStreamManager } from '@nats-io/jetstream';

import { BusError, BusProvisionError, StreamRegisterError } from '../errors';
import type { ResolvedConsumer, ResolvedStream, StreamRegister } from '../topology';
import {
  changedFields,
  CLEARED_CONSUMER_FIELDS,
  CLEARED_STREAM_FIELDS,
  consumerConfig,
  streamConfig,
} from './config';

export type ProvisionOutcome = 'created' | 'updated' | 'unchanged';

/**
 * Creates the stream, or updates it to match; JetStream cannot change retention or storage in place. With
 * `mayCreate` false a missing stream is left missing (`missing`).
 */
export async function ensureStream(
  jsm: JetStreamManager,
  spec: ResolvedStream,
  { mayCreate = true }: { mayCreate?: boolean } = {},
): Promise<ProvisionOutcome | 'missing'> {
  const resource = `stream ${spec.name}`;
  const desired = streamConfig(spec);
  return provision(resource, async () => {
    const existing = await jsm.streams.info(spec.name).catch(absent(JetStreamApiCodes.StreamNotFound));
    if (!existing) {
      if (!mayCreate) return 'missing';
      await jsm.streams.add(desired);
      return 'created';
    }
    const wanted = { ...CLEARED_STREAM_FIELDS, ...desired };
    const changed = changedFields(existing.config, wanted);
    if (changed.length === 0) return 'unchanged';
    const fixed = changed.filter((f) => f === 'retention' || f === 'storage');
    if (fixed.length > 0) {
      throw new BusProvisionError(resource, { cause: new Error(`${fixed.join(', ')} cannot change`) });
    }
    const { name: _name, retention: _retention, storage: _storage, ...update } = wanted;
    await jsm.streams.update(spec.name, update);
    return 'updated';
  });
}

/**
 * ensureStream for a stream the peers copy, at connect: made only when `register` holds no record of it (a new
 * site, or one whose operator had it forgotten), and recorded once it is on the server; `missing` when it is
 * recorded and gone, left to the operator (see StreamSpec.copiedByPeers). The record is read first, so a
 * process that finds it never makes the stream, however the others starting beside it fare.
 */
export async function ensureCopiedStream(
  jsm: JetStreamManager,
  spec: ResolvedStream,
  register: StreamRegister,
): Promise<ProvisionOutcome | 'missing'> {
  const recorded = (await registered(spec.name, () => register.recordedAt(spec.name))) !== undefined;
  const outcome = await ensureStream(jsm, spec, { mayCreate: !recorded });
  if (!recorded) await registered(spec.name, () => register.record(spec.name));
  return outcome;
}

/** A call to the register, its failure told apart from the server's (it is the ledger's, not NATS'). */
async function registered<T>(stream: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (cause) {
    throw new StreamRegisterError(stream, { cause });
  }
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
    const wanted = { ...CLEARED_CONSUMER_FIELDS, ...desired };
    if (changedFields(existing.config, wanted).length === 0) return 'unchanged';
    const { durable_name: _d, ack_policy: _a, deliver_policy: _p, replay_policy: _r, ...update } = wanted;
    await jsm.consumers.update(spec.stream, spec.durable, update);
    return 'updated';
  });
}

async function provision<T>(resource: string, run: () => Promise<T>): Promise<T> {
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
