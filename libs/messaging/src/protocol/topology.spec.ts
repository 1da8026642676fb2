import { resolveTopology } from '../topology';
import { parseProtocolSubject, protocolSubject, publisherTopology, siteTopology } from './topology';

describe('site topology', () => {
  const east = siteTopology('kme-east', ['kme-west', 'kme-north'], { prefix: 't1' });

  it('names the subjects of what a site sends a peer under its own out tokens', () => {
    expect(protocolSubject('kme-east', 'kme-west', 'metadata', { prefix: 't1' })).toBe(
      't1.kme-east.out.kme-west.metadata',
    );
    expect(protocolSubject('kme-west', 'kme-east', 'block-ack')).toBe('dqkd.kme-west.out.kme-east.block-ack');
  });

  it('reads a protocol subject back and refuses anything else', () => {
    expect(parseProtocolSubject('t1.kme-east.out.kme-west.assignment', { prefix: 't1' })).toEqual({
      source: 'kme-east',
      target: 'kme-west',
      kind: 'assignment',
    });
    expect(parseProtocolSubject('dqkd.kme-east.out.kme-west.assignment', { prefix: 't1' })).toBeUndefined();
    expect(parseProtocolSubject('t1.kme-east.out.kme-west.material', { prefix: 't1' })).toBeUndefined();
    expect(parseProtocolSubject('t1.kme-east.in.kme-west.metadata', { prefix: 't1' })).toBeUndefined();
  });

  it("keeps an OUT stream of the site's own subjects for two hours, de-duplicating for twenty minutes", () => {
    expect(east.streams[0]).toEqual({
      name: 'T1_KME_EAST_OUT',
      subjects: ['t1.kme-east.out.>'],
      retention: 'limits',
      maxAgeMs: 7_200_000,
      duplicateWindowMs: 1_200_000,
      // The peers' IN streams copy it, so it is not made again under them while the bus runs.
      copiedByPeers: true,
    });
  });

  it("gathers into the IN stream only what each peer's OUT stream holds for this site", () => {
    expect(east.streams[1]).toMatchObject({
      name: 'T1_KME_EAST_IN',
      subjects: [],
      sources: [
        { name: 'T1_KME_WEST_OUT', filterSubject: 't1.kme-west.out.kme-east.>' },
        { name: 'T1_KME_NORTH_OUT', filterSubject: 't1.kme-north.out.kme-east.>' },
      ],
    });
  });

  it('names the JetStream domain of a peer behind a leaf node', () => {
    const leaf = siteTopology('kme-east', ['kme-west'], { peerDomain: (peer) => `${peer}-domain` });
    expect(leaf.streams[1].sources).toEqual([
      { name: 'DQKD_KME_WEST_OUT', filterSubject: 'dqkd.kme-west.out.kme-east.>', domain: 'kme-west-domain' },
    ]);
  });

  // On a NATS cluster, a stream on one node loses the assignments in flight with that node's store.
  it('keeps as many copies of both streams as asked, and leaves the default to the bus', () => {
    const clustered = siteTopology('kme-east', ['kme-west'], { replicas: 3 });
    expect(clustered.streams.map((stream) => stream.replicas)).toEqual([3, 3]);
    expect(publisherTopology('kme-east', { replicas: 3 }).streams.map((stream) => stream.replicas)).toEqual([
      3,
    ]);
    expect(siteTopology('kme-east', ['kme-west']).streams.map((stream) => stream.replicas)).toEqual([
      undefined,
      undefined,
    ]);
  });

  it('consumes the IN stream through one durable with few messages in flight and many redeliveries', () => {
    expect(east.consumers).toEqual([
      expect.objectContaining({ stream: 'T1_KME_EAST_IN', durable: 'replication', maxAckPending: 1024 }),
    ]);
    expect(east.consumers?.[0].filterSubject).toBeUndefined();
    expect(east.consumers?.[0].maxDeliver).toBeGreaterThanOrEqual(1000);
  });

  it('is a topology both adapters accept', () => {
    expect(() => resolveTopology(east)).not.toThrow();
  });
});
