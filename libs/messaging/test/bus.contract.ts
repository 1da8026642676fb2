import {
  NoStreamError,
  type Bus,
  type BusMessage,
  type ConsumerSpec,
  IN_DUPLICATE_WINDOW_MS,
  inConsumer,
  outStream,
  parseProtocolSubject,
  protocolSubject,
  siteNaming,
  siteTopology,
  type StreamSpec,
} from '../src';
import type { BusHarness } from './support/harness';
import { bytes, gate, sleep, text, waitFor } from './support/wait';

interface Seen {
  body: string;
  deliveryCount: number;
  redelivered: boolean;
  at: number;
}

/**
 * The delivery semantics every adapter of the bus port must share. Timings are short
 * (ackWait 1 s) so the suite stays fast; margins allow for a loaded machine.
 */
export function busContract(makeHarness: () => BusHarness): void {
  let harness: BusHarness;
  beforeEach(() => (harness = makeHarness()));
  afterEach(() => harness.cleanup());

  const blocks = (extra: Partial<StreamSpec> = {}): StreamSpec => ({
    name: harness.naming.stream('blocks'),
    subjects: [harness.naming.wildcard('blocks')],
    retention: 'workqueue',
    maxAgeMs: 60_000,
    duplicateWindowMs: 30_000,
    ...extra,
  });
  const replication = (extra: Partial<ConsumerSpec> = {}): ConsumerSpec => ({
    stream: harness.naming.stream('blocks'),
    durable: 'replication',
    ackWaitMs: 1000,
    maxDeliver: 5,
    ...extra,
  });
  const subject = () => harness.naming.subject('blocks', 'metadata');
  const connect = (stream = blocks(), consumer = replication()) =>
    harness.connect({ streams: [stream], consumers: [consumer] });
  const publishAll = async (bus: Bus, bodies: string[]) => {
    for (const body of bodies) await bus.publish(subject(), bytes(body), { msgId: body });
  };
  const record = (seen: Seen[], m: BusMessage) =>
    seen.push({
      body: text(m.data),
      deliveryCount: m.deliveryCount,
      redelivered: m.redelivered,
      at: Date.now(),
    });

  describe('publish and consume', () => {
    it('delivers a stored message with its subject, data, msgId and headers', async () => {
      const bus = await connect();
      const receipt = await bus.publish(subject(), bytes('block-1'), {
        msgId: 'block-1',
        headers: { 'dqkd-kind': 'metadata' },
      });
      expect(receipt).toEqual({ stream: blocks().name, sequence: 1, duplicate: false });

      const received: BusMessage[] = [];
      await bus.consume(replication(), async (m) => {
        received.push(m);
        await m.ack();
      });
      await waitFor(() => received.length === 1, 5000, 'the delivery');
      const [m] = received;
      expect([m.subject, text(m.data), m.msgId, m.headers['dqkd-kind']]).toEqual([
        subject(),
        'block-1',
        'block-1',
        'metadata',
      ]);
      expect([m.deliveryCount, m.redelivered, m.streamSequence]).toEqual([1, false, 1]);
    });

    it('stores a repeated msgId once and reports the repeat as a duplicate', async () => {
      const bus = await connect();
      const first = await bus.publish(subject(), bytes('a'), { msgId: 'key-7' });
      const again = await bus.publish(subject(), bytes('a'), { msgId: 'key-7' });
      expect(again).toEqual({ ...first, duplicate: true });

      const seen: Seen[] = [];
      await bus.consume(replication(), async (m) => (record(seen, m), m.ack()));
      await waitFor(() => seen.length === 1, 5000, 'the delivery');
      await sleep(500);
      expect(seen).toHaveLength(1);
    });

    it('refuses a publish to a subject that no stream stores', async () => {
      const bus = await connect();
      await expect(
        bus.publish(harness.naming.subject('nowhere'), bytes('x'), { msgId: 'x' }),
      ).rejects.toBeInstanceOf(NoStreamError);
    });
  });

  describe('redelivery', () => {
    it("redelivers a nak'd message after the requested delay", async () => {
      const bus = await connect();
      await publishAll(bus, ['m1']);
      const seen: Seen[] = [];
      await bus.consume(replication(), async (m) => {
        record(seen, m);
        await (m.deliveryCount === 1 ? m.nak(700) : m.ack());
      });
      await waitFor(() => seen.length === 2, 5000, 'the redelivery');
      expect(seen[1]).toMatchObject({ body: 'm1', deliveryCount: 2, redelivered: true });
      expect(seen[1].at - seen[0].at).toBeGreaterThanOrEqual(600);
    });

    it('redelivers a message its handler never settles once ackWait has passed', async () => {
      const bus = await connect();
      await publishAll(bus, ['m1']);
      const seen: Seen[] = [];
      await bus.consume(replication(), async (m) => {
        record(seen, m);
        if (m.deliveryCount > 1) await m.ack();
      });
      await waitFor(() => seen.length === 2, 5000, 'the redelivery');
      expect(seen[1]).toMatchObject({ deliveryCount: 2, redelivered: true });
      expect(seen[1].at - seen[0].at).toBeGreaterThanOrEqual(900);
    });

    it('delivers a message once while its handler runs past ackWait, with a slot free for a second', async () => {
      const bus = await connect();
      await publishAll(bus, ['m1']);
      const seen: Seen[] = [];
      let acked = false;
      await bus.consume(
        replication(),
        async (m) => {
          record(seen, m);
          await sleep(2500);
          await m.ack();
          acked = true;
        },
        { maxInFlight: 2 },
      );
      await waitFor(() => acked, 8000, 'the ack');
      // Past one more ackWait: a redelivery of an unsettled hold would have come by now.
      await sleep(1200);
      expect(seen.map((s) => s.deliveryCount)).toEqual([1]);
    });

    it('redelivers a message whose handler throws', async () => {
      const bus = await connect();
      await publishAll(bus, ['m1']);
      const seen: Seen[] = [];
      const errors: unknown[] = [];
      await bus.consume(
        replication(),
        async (m) => {
          record(seen, m);
          if (m.deliveryCount === 1) throw new Error('regeneration failed');
          await m.ack();
        },
        { retryDelayMs: 0, onError: (e) => errors.push(e) },
      );
      await waitFor(() => seen.length === 2, 5000, 'the redelivery');
      expect(seen.map((s) => s.deliveryCount)).toEqual([1, 2]);
      expect(errors).toHaveLength(1);
    });

    it('hands a message held by a crashed consumer to the next consumer of the durable', async () => {
      const first = await connect();
      await publishAll(first, ['m1']);
      const busy = gate();
      const heldBy: number[] = [];
      await first.consume(replication(), async (m) => {
        heldBy.push(m.deliveryCount);
        await busy.wait;
      });
      await waitFor(() => heldBy.length === 1, 5000, 'the first delivery');
      await first.close({ graceMs: 50 });

      const second = await connect();
      const seen: Seen[] = [];
      await second.consume(replication(), async (m) => (record(seen, m), m.ack()));
      await waitFor(() => seen.length === 1, 4000, 'the redelivery to the new consumer');
      busy.open();
      expect(seen[0]).toMatchObject({ body: 'm1', deliveryCount: 2, redelivered: true });
    });

    it('stops delivering a message after maxDeliver attempts', async () => {
      const bus = await connect(blocks(), replication({ maxDeliver: 3 }));
      await publishAll(bus, ['m1']);
      const seen: Seen[] = [];
      await bus.consume(replication({ maxDeliver: 3 }), async (m) => (record(seen, m), m.nak()));
      await waitFor(() => seen.length === 3, 5000, 'three deliveries');
      await sleep(1500);
      expect(seen.map((s) => s.deliveryCount)).toEqual([1, 2, 3]);
    });

    it('never delivers a terminated message again', async () => {
      const bus = await connect();
      await publishAll(bus, ['m1', 'm2']);
      const seen: Seen[] = [];
      await bus.consume(replication(), async (m) => {
        record(seen, m);
        await (text(m.data) === 'm1' ? m.term() : m.ack());
      });
      await waitFor(() => seen.length === 2, 5000, 'both deliveries');
      await sleep(1500);
      expect(seen.map((s) => s.body)).toEqual(['m1', 'm2']);
    });
  });

  describe('ordering and sharing', () => {
    it('delivers in publish order with a redelivery before any later message when maxAckPending is 1', async () => {
      const consumer = replication({ maxAckPending: 1 });
      const bus = await connect(blocks(), consumer);
      await publishAll(bus, ['m1', 'm2', 'm3', 'm4', 'm5']);
      const seen: Seen[] = [];
      await bus.consume(consumer, async (m) => {
        record(seen, m);
        await (text(m.data) === 'm2' && m.deliveryCount === 1 ? m.nak(200) : m.ack());
      });
      await waitFor(() => seen.length === 6, 5000, 'six deliveries');
      expect(seen.map((s) => s.body)).toEqual(['m1', 'm2', 'm2', 'm3', 'm4', 'm5']);
    });

    it('gives every durable of a limits stream its own copy of each message', async () => {
      const audit = replication({ durable: 'audit' });
      const bus = await harness.connect({
        streams: [blocks({ retention: 'limits' })],
        consumers: [replication(), audit],
      });
      await publishAll(bus, ['m1', 'm2']);
      const seen = { replication: [] as string[], audit: [] as string[] };
      await bus.consume(replication(), async (m) => (seen.replication.push(text(m.data)), m.ack()));
      await bus.consume(audit, async (m) => (seen.audit.push(text(m.data)), m.ack()));
      await waitFor(() => seen.replication.length + seen.audit.length === 4, 5000, 'two copies of each');
      expect(seen).toEqual({ replication: ['m1', 'm2'], audit: ['m1', 'm2'] });
    });

    it('shares the messages of one durable between two consumers, each message to one of them', async () => {
      const bodies = Array.from({ length: 20 }, (_, i) => `m${i}`);
      const a = await connect();
      const b = await connect();
      const seenBy = { a: [] as string[], b: [] as string[] };
      const worker = (name: 'a' | 'b') => async (m: BusMessage) => {
        seenBy[name].push(text(m.data));
        await sleep(20);
        await m.ack();
      };
      await a.consume(replication(), worker('a'));
      await b.consume(replication(), worker('b'));
      await publishAll(a, bodies);
      const all = () => [...seenBy.a, ...seenBy.b];
      await waitFor(() => all().length >= 20, 10_000, 'all twenty messages');
      await sleep(300);
      expect(all().sort()).toEqual([...bodies].sort());
      expect(seenBy.a.length).toBeGreaterThan(0);
      expect(seenBy.b.length).toBeGreaterThan(0);
    });
  });

  describe('stream sources', () => {
    const west = () => siteNaming('kme-west', { prefix: harness.naming.prefix });
    const eastOut = (): StreamSpec => ({
      name: harness.naming.stream('out'),
      subjects: [harness.naming.wildcard('out')],
      retention: 'limits',
      maxAgeMs: 60_000,
      duplicateWindowMs: 30_000,
    });
    const westIn = (): StreamSpec => ({
      name: west().stream('in'),
      subjects: [],
      retention: 'limits',
      maxAgeMs: 60_000,
      duplicateWindowMs: 30_000,
      sources: [{ name: eastOut().name, filterSubject: harness.naming.wildcard('out', 'kme-west') }],
    });
    const westReplication = (): ConsumerSpec => ({
      stream: westIn().name,
      durable: 'replication',
      ackWaitMs: 1000,
      maxDeliver: 5,
    });
    const toWest = () => harness.naming.subject('out', 'kme-west', 'metadata');
    const toNorth = () => harness.naming.subject('out', 'kme-north', 'metadata');
    const collect = async (bus: Bus, seen: BusMessage[]) =>
      bus.consume(westReplication(), async (m) => {
        seen.push(m);
        await m.ack();
      });

    it("copies the origin's matching messages, also those stored before the sourcing stream existed", async () => {
      const east = await harness.connect({ streams: [eastOut()] });
      await east.publish(toWest(), bytes('before'), { msgId: 'before' });
      await east.publish(toNorth(), bytes('not-for-west'), { msgId: 'north' });

      const westBus = await harness.connect({ streams: [westIn()], consumers: [westReplication()] });
      const seen: BusMessage[] = [];
      await collect(westBus, seen);
      await east.publish(toWest(), bytes('after'), { msgId: 'after' });

      await waitFor(() => seen.length === 2, 10_000, 'both sourced messages');
      await sleep(300);
      expect(seen.map((m) => [m.subject, text(m.data)])).toEqual([
        [toWest(), 'before'],
        [toWest(), 'after'],
      ]);
    });

    it('starts copying once an origin that did not exist yet appears', async () => {
      const westBus = await harness.connect({ streams: [westIn()], consumers: [westReplication()] });
      const seen: BusMessage[] = [];
      await collect(westBus, seen);

      const east = await harness.connect({ streams: [eastOut()] });
      await east.publish(toWest(), bytes('late'), { msgId: 'late' });

      await waitFor(() => seen.length === 1, 15_000, 'the message of the late origin');
      expect(text(seen[0].data)).toBe('late');
    });

    it("keeps two peers' messages of one message ID apart in the site topology's IN stream", async () => {
      const options = { prefix: harness.naming.prefix };
      const peers = ['kme-east', 'kme-north'];
      const senders = await Promise.all(
        peers.map((peer) => harness.connect({ streams: [outStream(peer, options)] })),
      );
      const westBus = await harness.connect(siteTopology('kme-west', peers, options));
      const seen: BusMessage[] = [];
      await westBus.consume(inConsumer('kme-west', options), async (m) => {
        seen.push(m);
        await m.ack();
      });
      // One peer publishing first under the ID of the other's message, then the other, once the IN stream's
      // short duplicate window has passed (within it, both buses drop the second: measured on NATS 2.9.10).
      for (const [i, peer] of ['kme-north', 'kme-east'].entries()) {
        const to = protocolSubject(peer, 'kme-west', 'metadata', options);
        await senders[peers.indexOf(peer)]!.publish(to, bytes(peer), { msgId: 'metadata:same-block' });
        if (i === 0) await waitFor(() => seen.length === 1, 15_000, 'the first message');
        await sleep(2 * IN_DUPLICATE_WINDOW_MS);
      }

      await waitFor(() => seen.length === 2, 15_000, "both peers' messages");
      expect(seen.map((m) => [parseProtocolSubject(m.subject, options)?.source, text(m.data)])).toEqual([
        ['kme-north', 'kme-north'],
        ['kme-east', 'kme-east'],
      ]);
    });

    it('provisions a sourcing stream again without a change', async () => {
      await harness.connect({ streams: [eastOut()] });
      await harness.connect({ streams: [westIn()] });
      await expect(harness.connect({ streams: [westIn()] })).resolves.toBeDefined();
    });
  });

  describe('close', () => {
    it('never redelivers an acked message and loses no stored one across close and reconnect', async () => {
      const bodies = Array.from({ length: 10 }, (_, i) => `m${i}`);
      const first = await connect();
      await publishAll(first, bodies);
      const acked: string[] = [];
      await first.consume(replication(), async (m) => {
        await sleep(30);
        await m.ack();
        acked.push(text(m.data));
      });
      await waitFor(() => acked.length >= 4, 5000, 'some acks');
      await first.close();

      const second = await connect();
      const later: Seen[] = [];
      await second.consume(replication(), async (m) => (record(later, m), m.ack()), { maxInFlight: 4 });
      await waitFor(() => acked.length + later.length >= 10, 5000, 'the rest');
      await sleep(1500);
      expect(later.map((s) => s.body).filter((b) => acked.includes(b))).toEqual([]);
      expect([...acked, ...later.map((s) => s.body)].sort()).toEqual([...bodies].sort());
    });

    it('closes a subscription at once when asked right after it began, and loses no message', async () => {
      const bus = await connect();
      await publishAll(bus, ['early']);
      const seen: string[] = [];
      const take = async (m: BusMessage) => (seen.push(text(m.data)), m.ack());
      const subscription = await bus.consume(replication(), take);
      const closed = await Promise.race([
        subscription.close().then(() => 'closed'),
        sleep(5000).then(() => 'still closing after 5 s'),
      ]);
      expect(closed).toBe('closed');
      // Taken before the close, or by the next consumer.
      await bus.consume(replication(), take);
      await waitFor(() => seen.includes('early'), 10_000, 'the message');
    });

    it('answers a ping while connected and refuses one once closed', async () => {
      const bus = await connect();
      await expect(bus.ping()).resolves.toBeUndefined();
      await bus.close();
      await expect(bus.ping()).rejects.toMatchObject({ kind: 'closed' });
    });

    it('refuses to publish once closed', async () => {
      const bus = await connect();
      await bus.close();
      await expect(bus.publish(subject(), bytes('x'), { msgId: 'x' })).rejects.toMatchObject({
        kind: 'closed',
      });
    });
  });
}
