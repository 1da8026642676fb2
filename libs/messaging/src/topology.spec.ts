import { BusConfigError } from './errors';
import {
  resolveConsumer,
  resolveStream,
  resolveTopology,
  type ConsumerSpec,
  type StreamSpec,
} from './topology';

const stream: StreamSpec = {
  name: 'DQKD_KME_EAST_BLOCKS',
  subjects: ['dqkd.kme-east.blocks.>'],
  retention: 'workqueue',
  maxAgeMs: 3_600_000,
  duplicateWindowMs: 120_000,
};
const consumer: ConsumerSpec = {
  stream: stream.name,
  durable: 'replication',
  ackWaitMs: 30_000,
  maxDeliver: 10,
};

describe('topology', () => {
  it('fills in file storage, one replica and a bounded maxAckPending', () => {
    expect(resolveStream(stream)).toMatchObject({ storage: 'file', replicas: 1 });
    expect(resolveConsumer(consumer).maxAckPending).toBe(1000);
  });

  it('accepts a stream with no subjects of its own when it gathers sources', () => {
    const gathering = { ...stream, subjects: [], sources: [{ name: 'DQKD_KME_WEST_OUT' }] };
    expect(resolveStream(gathering).sources).toEqual([{ name: 'DQKD_KME_WEST_OUT' }]);
    expect(resolveStream(stream).sources).toEqual([]);
  });

  it.each<[string, Partial<StreamSpec>]>([
    ['itself as a source', { sources: [{ name: stream.name }] }],
    ['a source with an invalid filter', { sources: [{ name: 'OTHER', filterSubject: 'a..b' }] }],
    ['a source in an invalid domain', { sources: [{ name: 'OTHER', domain: 'a.b' }] }],
  ])('refuses a stream with %s', (_case, change) =>
    expect(() => resolveStream({ ...stream, ...change })).toThrow(BusConfigError),
  );

  it.each<[string, Partial<StreamSpec>]>([
    ['a name with a dot', { name: 'DQKD.BLOCKS' }],
    ['no subjects', { subjects: [] }],
    ['an invalid subject', { subjects: ['dqkd..x'] }],
    ['an unknown retention', { retention: 'interest' as StreamSpec['retention'] }],
    ['a duplicate window longer than the max age', { duplicateWindowMs: 7_200_000 }],
    ['a fractional max age', { maxAgeMs: 1.5 }],
  ])('refuses a stream with %s', (_case, change) =>
    expect(() => resolveStream({ ...stream, ...change })).toThrow(BusConfigError),
  );

  it.each<[string, Partial<ConsumerSpec>]>([
    ['an unbounded maxDeliver', { maxDeliver: -1 }],
    ['a zero ackWait', { ackWaitMs: 0 }],
    ['a durable with a wildcard', { durable: 'repl*' }],
    ['an invalid filter', { filterSubject: 'a.>.b' }],
  ])('refuses a consumer with %s', (_case, change) =>
    expect(() => resolveConsumer({ ...consumer, ...change })).toThrow(BusConfigError),
  );

  it('names the field that is wrong', () => {
    expect(() => resolveConsumer({ ...consumer, ackWaitMs: -1 })).toThrow(
      'consumer DQKD_KME_EAST_BLOCKS/replication: ackWaitMs must be a positive integer',
    );
  });

  it('refuses two streams that would store the same subject', () => {
    const other = { ...stream, name: 'OTHER', subjects: ['dqkd.*.blocks.metadata'] };
    expect(() => resolveTopology({ streams: [stream, other] })).toThrow(/overlap stream OTHER/);
  });

  it('refuses a consumer of an undeclared stream', () => {
    expect(() => resolveTopology({ streams: [], consumers: [consumer] })).toThrow(/is not declared/);
  });

  it('refuses two work-queue consumers whose filters overlap, as JetStream would', () => {
    const second = { ...consumer, durable: 'audit', filterSubject: 'dqkd.kme-east.blocks.metadata' };
    expect(() => resolveTopology({ streams: [stream], consumers: [consumer, second] })).toThrow(
      /overlaps consumer/,
    );
    const disjoint = [
      { ...consumer, filterSubject: 'dqkd.kme-east.blocks.ack' },
      { ...second, filterSubject: 'dqkd.kme-east.blocks.metadata' },
    ];
    expect(resolveTopology({ streams: [stream], consumers: disjoint }).consumers).toHaveLength(2);
  });

  it('lets several consumers read a limits stream', () => {
    const limits = { ...stream, retention: 'limits' as const };
    const both = [consumer, { ...consumer, durable: 'audit' }];
    expect(resolveTopology({ streams: [limits], consumers: both }).consumers).toHaveLength(2);
  });
});
