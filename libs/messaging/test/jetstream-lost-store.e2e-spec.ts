import { rm } from 'node:fs/promises';
import { join } from 'node:path';

import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Logger } from '@nestjs/common';

import { Recovery } from '../src/jetstream/recovery';
import { ensureConsumer, ensureStream } from '../src/jetstream/provision';
import { resolveConsumer, resolveStream, type ResolvedConsumer, type ResolvedStream } from '../src/topology';
import { workQueueTopology } from './support/harness';
import { PrivateNatsServer } from './support/nats-server';
import { bytes } from './support/wait';

/**
 * Recovery.restoreLostStore deletes a stream and makes it again: it must do so only for a stream whose store
 * nats-server lost (jetstream-recovery.e2e shows that case), never for one that reads or one its peers copy.
 */
describe('the lost-store check after an empty pull', () => {
  let server: PrivateNatsServer;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  const warnings = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  const notes = jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);

  beforeAll(async () => {
    server = await PrivateNatsServer.start();
    nc = await connect({ servers: server.url });
    jsm = await jetstreamManager(nc);
  });
  afterAll(async () => {
    await nc?.close();
    await server?.stop();
    warnings.mockRestore();
    notes.mockRestore();
  });
  beforeEach(() => warnings.mockClear());

  /** A work-queue stream and its consumer on the private server, holding `count` messages nobody pulled. */
  const pending = async (count: number, copiedByPeers = false) => {
    const { stream, consumer, subject } = workQueueTopology();
    const made = {
      stream: resolveStream({ ...stream, copiedByPeers }),
      consumer: resolveConsumer(consumer),
      subject,
    };
    await ensureStream(jsm, made.stream);
    await ensureConsumer(jsm, made.consumer);
    for (let i = 0; i < count; i++) await jetstream(nc).publish(subject, bytes(`m${i}`), { msgID: `m${i}` });
    return made;
  };

  /** Removes the stream's files as nats-server 2.9.10 does under a namesake made again, then sends to it. */
  const loseStore = async ({ stream, subject }: { stream: ResolvedStream; subject: string }) => {
    await rm(join(server.storeDir, 'jetstream', '$G', 'streams', stream.name), { recursive: true });
    await jetstream(nc).publish(subject, bytes('after'), { msgID: 'after' });
  };

  const check = (streams: readonly ResolvedStream[], consumer: ResolvedConsumer) =>
    new Recovery(jsm, streams).restoreLostStore(consumer);

  it('leaves a stream that reads, however many messages its consumer has pending', async () => {
    const made = await pending(3);
    const before = await jsm.streams.info(made.stream.name);

    await check([made.stream], made.consumer);

    const after = await jsm.streams.info(made.stream.name);
    expect(after.created).toBe(before.created);
    expect(after.state.messages).toBe(3);
    expect((await jsm.consumers.info(made.stream.name, made.consumer.durable)).num_pending).toBe(3);
    expect(warnings).not.toHaveBeenCalled();
  });

  it('makes a stream again whose store is lost, and the same check leaves one its peers copy', async () => {
    const lost = await pending(1);
    const copied = await pending(1, true);
    await loseStore(lost);
    await loseStore(copied);
    const copiedBefore = await jsm.streams.info(copied.stream.name);
    const lostBefore = await jsm.streams.info(lost.stream.name);
    // The store is gone: the server counts the message sent after, and cannot read it.
    expect(lostBefore.state.messages).toBeGreaterThan(0);
    expect(await jsm.streams.getMessage(lost.stream.name, { seq: lostBefore.state.last_seq })).toBeNull();

    await check([lost.stream, copied.stream], lost.consumer);
    await check([lost.stream, copied.stream], copied.consumer);

    // Made again (a new `created`), empty, with its consumer; the stream the peers copy is as it was.
    const lostAfter = await jsm.streams.info(lost.stream.name);
    expect(lostAfter.created).not.toBe(lostBefore.created);
    expect(lostAfter.state.messages).toBe(0);
    expect(await jsm.consumers.info(lost.stream.name, lost.consumer.durable)).toBeDefined();
    const copiedAfter = await jsm.streams.info(copied.stream.name);
    expect(copiedAfter.created).toBe(copiedBefore.created);
    expect(copiedAfter.state.messages).toBe(copiedBefore.state.messages);
    expect(warnings).toHaveBeenCalledWith(expect.stringContaining(`stream ${lost.stream.name} counts`));
    const told = warnings.mock.calls.map(([message]) => String(message));
    expect(told.filter((message) => message.includes(copied.stream.name))).toEqual([]);
  });
});

describe('the lost-store check with a user that may not delete streams', () => {
  let server: PrivateNatsServer;
  // Made here, not where the describe is read: the describe before restores the one spy both would share.
  let warnings: jest.SpyInstance;
  const connections: NatsConnection[] = [];

  beforeAll(async () => {
    warnings = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    server = await PrivateNatsServer.start(
      'authorization { users: [\n' +
        '  { user: admin, password: admin }\n' +
        '  { user: app, password: app, permissions: { publish: { deny: ["$JS.API.STREAM.DELETE.>"] } } }\n' +
        '] }\n',
    );
  });
  afterAll(async () => {
    await Promise.all(connections.map((nc) => nc.close()));
    await server?.stop();
    warnings.mockRestore();
  });

  const login = async (user: string) => {
    const nc = await connect({ servers: server.url, user, pass: user });
    connections.push(nc);
    return nc;
  };

  it('leaves the stream as it is when deleting it is refused, and does not throw', async () => {
    const admin = await login('admin');
    const jsm = await jetstreamManager(admin);
    const { stream, consumer, subject } = workQueueTopology();
    const made = { stream: resolveStream(stream), consumer: resolveConsumer(consumer) };
    await ensureStream(jsm, made.stream);
    await ensureConsumer(jsm, made.consumer);
    await jetstream(admin).publish(subject, bytes('m0'), { msgID: 'm0' });
    await rm(join(server.storeDir, 'jetstream', '$G', 'streams', made.stream.name), { recursive: true });
    await jetstream(admin).publish(subject, bytes('after'), { msgID: 'after' });
    const before = await jsm.streams.info(made.stream.name);

    const app = await jetstreamManager(await login('app'), { timeout: 1000 });
    await expect(new Recovery(app, [made.stream]).restoreLostStore(made.consumer)).resolves.toBeUndefined();

    const after = await jsm.streams.info(made.stream.name);
    expect(after.created).toBe(before.created);
    expect(warnings).toHaveBeenCalledWith(expect.stringContaining(`stream ${made.stream.name} counts`));
  });
});
