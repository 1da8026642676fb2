import {
  AckPolicy,
  DeliverPolicy,
  ReplayPolicy,
  RetentionPolicy,
  StorageType,
  type ConsumerConfig,
  type StreamConfig,
  type StreamSource as JetStreamSource,
} from '@nats-io/jetstream';

import type { ResolvedConsumer, ResolvedStream, StreamSource } from '../topology';

/** JetStream durations are nanoseconds. */
export const nanos = (ms: number): number => ms * 1_000_000;

/**
 * Only fields that NATS 2.9 understands: newer ones (multiple filter subjects,
 * consumer actions, metadata) would be ignored or refused by the site servers.
 */
export function streamConfig(spec: ResolvedStream): Partial<StreamConfig> & { name: string } {
  return {
    name: spec.name,
    // A stream that only gathers its sources lists no subjects (NATS would otherwise default to its name).
    ...(spec.subjects.length === 0 && spec.sources.length > 0 ? {} : { subjects: [...spec.subjects] }),
    retention: spec.retention === 'workqueue' ? RetentionPolicy.Workqueue : RetentionPolicy.Limits,
    storage: spec.storage === 'memory' ? StorageType.Memory : StorageType.File,
    max_age: nanos(spec.maxAgeMs),
    duplicate_window: nanos(spec.duplicateWindowMs),
    num_replicas: spec.replicas,
    ...(spec.sources.length === 0 ? {} : { sources: spec.sources.map(sourceConfig) }),
  };
}

/** A domain becomes the origin's JetStream API prefix, which is how a leaf-node peer's stream is reached. */
function sourceConfig(source: StreamSource): JetStreamSource {
  return {
    name: source.name,
    ...(source.filterSubject === undefined ? {} : { filter_subject: source.filterSubject }),
    ...(source.domain === undefined ? {} : { external: { api: `$JS.${source.domain}.API`, deliver: '' } }),
  };
}

export function consumerConfig(spec: ResolvedConsumer): Partial<ConsumerConfig> {
  return {
    durable_name: spec.durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    replay_policy: ReplayPolicy.Instant,
    ack_wait: nanos(spec.ackWaitMs),
    max_deliver: spec.maxDeliver,
    max_ack_pending: spec.maxAckPending,
    ...(spec.filterSubject === undefined ? {} : { filter_subject: spec.filterSubject }),
  };
}

/**
 * Fields streamConfig and consumerConfig leave out when a spec has none, with the value that clears each: absent
 * is then a value to compare, and an update must say it: the client merges an update into the config the
 * server holds, and only a field set (to undefined: then sent as absent) replaces what is there.
 */
export const CLEARED_STREAM_FIELDS: Partial<StreamConfig> = { subjects: [], sources: [] };
export const CLEARED_CONSUMER_FIELDS: Partial<ConsumerConfig> = { filter_subject: undefined };

/**
 * Fields of the desired config that differ from what the server holds; give it the CLEARED fields under the
 * desired ones, and a filter or source the spec no longer names is a change.
 */
export function changedFields<T extends object>(existing: T, desired: Partial<T>): (keyof T)[] {
  return (Object.keys(desired) as (keyof T)[]).filter((k) => !same(existing[k], desired[k]));
}

/** The server leaves out, or sends empty, what was never set. */
const unset = (value: unknown): boolean =>
  value === undefined || value === '' || (Array.isArray(value) && value.length === 0);

function same(a: unknown, b: unknown): boolean {
  if (unset(a) && unset(b)) return true;
  if (isSourceList(a) || isSourceList(b)) return sameSources(a, b);
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && [...a].sort().every((x, i) => x === [...b].sort()[i]);
  }
  return a === b;
}

function isSourceList(value: unknown): value is JetStreamSource[] {
  return Array.isArray(value) && value.length > 0 && typeof value[0] === 'object' && value[0] !== null;
}

/** The server echoes sources with fields of its own (start sequence, empty deliver prefix), so only ours count. */
function sameSources(a: unknown, b: unknown): boolean {
  const key = (list: unknown) =>
    ((list ?? []) as JetStreamSource[])
      .map((s) => [s.name, s.filter_subject ?? '', s.external?.api ?? ''].join(' '))
      .sort()
      .join('\n');
  return key(a) === key(b);
}
