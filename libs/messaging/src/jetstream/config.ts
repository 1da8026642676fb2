import {
  AckPolicy,
  DeliverPolicy,
  ReplayPolicy,
  RetentionPolicy,
  StorageType,
  type ConsumerConfig,
  type StreamConfig,
} from '@nats-io/jetstream';

import type { ResolvedConsumer, ResolvedStream } from '../topology';

/** JetStream durations are nanoseconds. */
export const nanos = (ms: number): number => ms * 1_000_000;

/**
 * Only fields that NATS 2.9 understands: newer ones (multiple filter subjects,
 * consumer actions, metadata) would be ignored or refused by the site servers.
 */
export function streamConfig(spec: ResolvedStream): Partial<StreamConfig> & { name: string } {
  return {
    name: spec.name,
    subjects: [...spec.subjects],
    retention: spec.retention === 'workqueue' ? RetentionPolicy.Workqueue : RetentionPolicy.Limits,
    storage: spec.storage === 'memory' ? StorageType.Memory : StorageType.File,
    max_age: nanos(spec.maxAgeMs),
    duplicate_window: nanos(spec.duplicateWindowMs),
    num_replicas: spec.replicas,
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

/** Fields of the desired config that differ from what the server holds. */
export function changedFields<T extends object>(existing: T, desired: Partial<T>): (keyof T)[] {
  return (Object.keys(desired) as (keyof T)[]).filter((k) => !same(existing[k], desired[k]));
}

function same(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && [...a].sort().every((x, i) => x === [...b].sort()[i]);
  }
  return a === b;
}
