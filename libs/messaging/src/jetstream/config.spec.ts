import type { StreamSource } from '@nats-io/jetstream';

import { resolveConsumer, resolveStream } from '../topology';
import {
  changedFields,
  consumerConfig,
  CLEARED_CONSUMER_FIELDS,
  CLEARED_STREAM_FIELDS,
  streamConfig,
} from './config';

const stream = resolveStream({
  name: 'DQKD_KME_EAST_BLOCKS',
  subjects: ['dqkd.kme-east.blocks.>'],
  retention: 'workqueue',
  maxAgeMs: 3_600_000,
  duplicateWindowMs: 120_000,
});
const consumer = resolveConsumer({
  stream: stream.name,
  durable: 'replication',
  ackWaitMs: 30_000,
  maxDeliver: 10,
});

describe('JetStream configuration', () => {
  it('describes a stream in nanoseconds with 2.9 fields only', () => {
    expect(streamConfig(stream)).toEqual({
      name: 'DQKD_KME_EAST_BLOCKS',
      subjects: ['dqkd.kme-east.blocks.>'],
      retention: 'workqueue',
      storage: 'file',
      max_age: 3_600_000_000_000,
      duplicate_window: 120_000_000_000,
      num_replicas: 1,
    });
  });

  it('describes a durable pull consumer with explicit acks from the start of the stream', () => {
    expect(consumerConfig(consumer)).toEqual({
      durable_name: 'replication',
      ack_policy: 'explicit',
      deliver_policy: 'all',
      replay_policy: 'instant',
      ack_wait: 30_000_000_000,
      max_deliver: 10,
      max_ack_pending: 1000,
    });
    expect(consumerConfig({ ...consumer, filterSubject: 'dqkd.kme-east.blocks.ack' }).filter_subject).toBe(
      'dqkd.kme-east.blocks.ack',
    );
  });

  it('describes sources, a peer domain as its JetStream API prefix, and no subjects of its own', () => {
    const gathering = resolveStream({
      ...stream,
      name: 'DQKD_KME_WEST_IN',
      subjects: [],
      retention: 'limits',
      sources: [{ name: 'DQKD_KME_EAST_OUT', filterSubject: 'dqkd.kme-east.out.kme-west.>', domain: 'east' }],
    });
    const config = streamConfig(gathering);
    expect(config.subjects).toBeUndefined();
    expect(config.sources).toEqual([
      {
        name: 'DQKD_KME_EAST_OUT',
        filter_subject: 'dqkd.kme-east.out.kme-west.>',
        external: { api: '$JS.east.API', deliver: '' },
      },
    ]);
    const held: Record<string, unknown> = {
      ...config,
      sources: [{ ...config.sources![0], opt_start_seq: 0 }],
    };
    const other: Record<string, unknown> = { ...config, sources: [{ name: 'DQKD_KME_NORTH_OUT' }] };
    expect(changedFields(held, { ...config })).toEqual([]);
    expect(changedFields(held, other)).toEqual(['sources']);
  });

  it('sees no change in what the server holds when only the subjects are reordered', () => {
    const held = { ...streamConfig(stream), subjects: ['b', 'a'], sealed: false };
    expect(changedFields(held, { ...streamConfig(stream), subjects: ['a', 'b'] })).toEqual([]);
  });

  it('sees a filter or source the desired config no longer names, and nothing in an empty one', () => {
    const held = { ...consumerConfig(consumer), filter_subject: 'dqkd.kme-east.blocks.metadata' };
    expect(changedFields(held, { ...CLEARED_CONSUMER_FIELDS, ...consumerConfig(consumer) })).toEqual([
      'filter_subject',
    ]);
    expect(changedFields(held, consumerConfig(consumer))).toEqual([]);
    const sourced = { ...streamConfig(stream), sources: [{ name: 'DQKD_KME_WEST_OUT' }] };
    expect(changedFields(sourced, { ...CLEARED_STREAM_FIELDS, ...streamConfig(stream) })).toEqual([
      'sources',
    ]);
    // What the server sends for a field never set: left out, or empty.
    const bare = { ...streamConfig(stream), sources: [] as StreamSource[] };
    expect(changedFields(bare, { ...CLEARED_STREAM_FIELDS, ...streamConfig(stream) })).toEqual([]);
    const unfiltered = { ...consumerConfig(consumer), filter_subject: '' };
    expect(changedFields(unfiltered, { ...CLEARED_CONSUMER_FIELDS, ...consumerConfig(consumer) })).toEqual(
      [],
    );
  });

  it('lists the fields that differ', () => {
    const held = { ...streamConfig(stream), max_age: 1 };
    expect(changedFields(held, { ...streamConfig(stream), retention: 'limits' })).toEqual([
      'retention',
      'max_age',
    ]);
  });
});
