import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';

import {
  BusProvisionError,
  IN_DUPLICATE_WINDOW_MS,
  JetStreamBus,
  outStream,
  siteTopology,
  type Bus,
  type StreamSpec,
  type Topology,
} from '../src';
import { NATS_URL, uniqueNaming, workQueueTopology } from './support/harness';
import { PrivateNatsServer } from './support/nats-server';
import { bytes, deleting, gate, sleep, text, waitFor } from './support/wait';

describe('JetStream provisioning', () => {
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  const buses: Bus[] = [];
  const streams: string[] = [];
  const provision = async (topology: Topology) => {
    topology.streams.forEach((s) => streams.push(s.name));
    const bus = await JetStreamBus.connect({ servers: NATS_URL }, topology);
    buses.push(bus);
    return bus;
  };

  beforeAll(async () => {
    nc = await connect({ servers: NATS_URL });
    jsm = await jetstreamManager(nc);
  });
  afterAll(async () => {
    await Promise.all(buses.map((b) => b.close({ graceMs: 100 })));
    await Promise.all(streams.map((s) => jsm.streams.delete(s).catch(() => false)));
    await nc.close();
  });

  it('leaves streams and consumers as they are when the same topology is provisioned twice', async () => {
    const { stream, consumer, topology } = workQueueTopology();
    await provision(topology);
    const before = [
      await jsm.streams.info(stream.name),
      await jsm.consumers.info(stream.name, consumer.durable),
    ];
    await provision(topology);
    const after = [
      await jsm.streams.info(stream.name),
      await jsm.consumers.info(stream.name, consumer.durable),
    ];
    expect(after.map((i) => [i.created, i.config])).toEqual(before.map((i) => [i.created, i.config]));
    expect(before[0].config).toMatchObject({
      retention: 'workqueue',
      max_age: 3_600_000 * 1e6,
      duplicate_window: 120_000 * 1e6,
    });
    expect(before[1].config).toMatchObject({
      durable_name: 'replication',
      ack_policy: 'explicit',
      max_deliver: 20,
    });
  });

  it('updates a changed stream and consumer in place', async () => {
    const { stream, consumer, topology } = workQueueTopology();
    await provision(topology);
    const created = (await jsm.streams.info(stream.name)).created;
    await provision({
      streams: [{ ...stream, maxAgeMs: 7_200_000 }],
      consumers: [{ ...consumer, maxDeliver: 7 }],
    });
    const info = await jsm.streams.info(stream.name);
    expect([info.created, info.config.max_age]).toEqual([created, 7_200_000 * 1e6]);
    expect((await jsm.consumers.info(stream.name, consumer.durable)).config.max_deliver).toBe(7);
  });

  it("updates a site's IN stream of the former 20-minute duplicate window to the short one in place", async () => {
    const options = { prefix: uniqueNaming().prefix };
    const topology = siteTopology('kme-west', ['kme-east'], options);
    const [out, inStream] = topology.streams as [StreamSpec, StreamSpec];
    await provision({ streams: [out, { ...inStream, duplicateWindowMs: 1_200_000 }] });
    const created = (await jsm.streams.info(inStream.name)).created;
    await provision(topology);
    const info = await jsm.streams.info(inStream.name);
    expect([info.created, info.config.duplicate_window]).toEqual([created, IN_DUPLICATE_WINDOW_MS * 1e6]);
    expect(info.config.sources?.map((source) => source.name)).toEqual([outStream('kme-east', options).name]);
  });

  it('drops a source and a consumer filter that the topology no longer names', async () => {
    const { naming, stream, consumer } = workQueueTopology();
    const filterSubject = naming.subject('keys', 'assignments');
    const origin: StreamSpec = {
      ...stream,
      name: naming.stream('origin'),
      subjects: [naming.wildcard('origin')],
    };
    const copy: StreamSpec = {
      ...origin,
      name: naming.stream('copy'),
      subjects: [],
      sources: [{ name: origin.name }],
    };
    for (const spec of [origin, copy]) spec.retention = 'limits';
    await provision({ streams: [stream, origin, copy], consumers: [{ ...consumer, filterSubject }] });
    expect((await jsm.consumers.info(stream.name, consumer.durable)).config.filter_subject).toBe(
      filterSubject,
    );
    expect((await jsm.streams.info(copy.name)).config.sources?.map((s) => s.name)).toEqual([origin.name]);

    await provision({
      streams: [stream, origin, { ...copy, subjects: [naming.wildcard('copy')], sources: [] }],
      consumers: [consumer],
    });
    expect((await jsm.consumers.info(stream.name, consumer.durable)).config.filter_subject ?? '').toBe('');
    expect((await jsm.streams.info(copy.name)).config.sources ?? []).toEqual([]);
  });

  it('refuses to turn a work-queue stream into a limits stream', async () => {
    const { stream, topology } = workQueueTopology();
    await provision(topology);
    await expect(provision({ streams: [{ ...stream, retention: 'limits' }] })).rejects.toBeInstanceOf(
      BusProvisionError,
    );
  });
});

describe('JetStream across a restart of its server', () => {
  let server: PrivateNatsServer;
  let bus: Bus | undefined;

  beforeEach(async () => (server = await PrivateNatsServer.start()));
  afterEach(async () => {
    await bus?.close({ graceMs: 100 });
    await server.stop();
  });

  it('fails its ping while the server is down and answers again once it is back', async () => {
    bus = await JetStreamBus.connect(
      { servers: server.url, reconnectTimeWaitMs: 100, requestTimeoutMs: 1000 },
      workQueueTopology().topology,
    );
    await expect(bus.ping()).resolves.toBeUndefined();
    await server.kill();
    await expect(bus.ping()).rejects.toMatchObject({ kind: 'unavailable' });
    await server.restart();
    const deadline = Date.now() + 10_000;
    while (
      !(await bus.ping().then(
        () => true,
        () => false,
      ))
    ) {
      if (Date.now() > deadline) throw new Error('no answer to a ping within 10 s of the restart');
      await sleep(100);
    }
  });

  it('closes its connection when closed while the server is down, rather than reconnecting for ever', async () => {
    bus = await JetStreamBus.connect(
      { servers: server.url, reconnectTimeWaitMs: 100, requestTimeoutMs: 1000 },
      workQueueTopology().topology,
    );
    // The client's own state: nothing the bus offers tells a closed socket from one that keeps reconnecting.
    const { nc } = bus as unknown as { nc: { isClosed(): boolean } };
    await server.kill();
    await bus.close({ graceMs: 500 });
    expect(nc.isClosed()).toBe(true);
  });

  it('goes on consuming when its onError throws at a failed pull', async () => {
    const { naming, consumer, topology } = workQueueTopology();
    const subject = naming.subject('keys', 'assignments');
    bus = await JetStreamBus.connect(
      { servers: server.url, reconnectTimeWaitMs: 100, requestTimeoutMs: 2000 },
      topology,
    );
    const consumed: string[] = [];
    let told = 0;
    await bus.consume(
      consumer,
      async (m) => {
        consumed.push(text(m.data));
        await m.ack();
      },
      {
        onError: () => {
          told += 1;
          throw new Error('a reporter that fails');
        },
      },
    );
    // Its consumer deleted under it: the pull fails, and the bus provisions the consumer again.
    const admin = await connect({ servers: server.url });
    try {
      await deleting(async () =>
        (await jetstreamManager(admin)).consumers.delete(consumer.stream, consumer.durable),
      );
    } finally {
      await admin.close();
    }
    await waitFor(() => told > 0, 10_000, 'a failed pull told to onError');
    // The server stayed up, so the stream takes it at once.
    await bus.publish(subject, bytes('after'), { msgId: 'after' });
    await waitFor(
      () => consumed.includes('after'),
      15_000,
      'the message published after the consumer came back',
    );
  });

  it('loses no acknowledged publish and resumes consuming once the server is back', async () => {
    const { naming, consumer, topology } = workQueueTopology();
    const subject = naming.subject('keys', 'assignments');
    bus = await JetStreamBus.connect(
      { servers: server.url, reconnectTimeWaitMs: 100, requestTimeoutMs: 2000 },
      topology,
    );
    const consumed = new Set<string>();
    // key-5 holds the only handler slot across the crash, so key-6..9 are stored but undelivered.
    const crash = gate();
    await bus.consume(consumer, async (m) => {
      if (text(m.data) === 'key-5' && m.deliveryCount === 1) await crash.wait;
      consumed.add(text(m.data));
      await m.ack();
    });
    const publish = async (body: string) => {
      const deadline = Date.now() + 15_000;
      for (;;) {
        try {
          return await bus!.publish(subject, bytes(body), { msgId: body });
        } catch (error) {
          // Right after a restart JetStream may not answer yet; the same msgId keeps retries idempotent.
          if (Date.now() > deadline) throw error;
          await sleep(200);
        }
      }
    };
    const bodies = Array.from({ length: 15 }, (_, i) => `key-${i}`);

    for (const body of bodies.slice(0, 5)) await publish(body);
    await waitFor(() => consumed.size === 5, 5000, 'the first five');
    for (const body of bodies.slice(5, 10)) await publish(body);
    await server.kill();
    await server.restart();
    crash.open();
    for (const body of bodies.slice(10)) await publish(body);

    await waitFor(() => consumed.size === 15, 25_000, 'every acknowledged publish');
    expect([...consumed].sort()).toEqual([...bodies].sort());
  });
});
