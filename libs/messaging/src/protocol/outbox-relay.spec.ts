import { InMemoryBroker } from '../in-memory/broker';
import { InMemoryBus } from '../in-memory/memory-bus';
import type { BusMessage } from '../bus';
import { OutboxRelay, SENT_AT_HEADER, type RelayedMessage, type RelayOutbox } from './outbox-relay';
import { outStream, protocolSubject } from './topology';

/** The ledger's outbox reduced to what the relay sees; the real one is exercised by the flow e2e specs. */
class ListOutbox implements RelayOutbox {
  readonly rows: (RelayedMessage & { published: boolean })[] = [];

  append(msgId: string, prefix = 'relay'): void {
    const subject = protocolSubject('kme-east', 'kme-west', 'metadata', { prefix });
    this.rows.push({
      id: String(this.rows.length + 1),
      subject,
      msgId,
      payload: Buffer.from(msgId),
      published: false,
    });
  }

  async pending(limit: number, after?: string): Promise<RelayedMessage[]> {
    return this.rows
      .filter((row) => !row.published && (after === undefined || Number(row.id) > Number(after)))
      .slice(0, limit);
  }

  async markPublished(ids: readonly string[]): Promise<number> {
    const marked = this.rows.filter((row) => ids.includes(row.id) && !row.published);
    marked.forEach((row) => (row.published = true));
    return marked.length;
  }
}

describe('outbox relay', () => {
  let broker: InMemoryBroker;
  let bus: InMemoryBus;
  const stream = outStream('kme-east', { prefix: 'relay' });

  beforeEach(async () => {
    broker = new InMemoryBroker();
    bus = await InMemoryBus.connect(broker, { streams: [stream] });
  });
  afterEach(async () => {
    await bus.close({ graceMs: 10 });
    broker.close();
  });

  const deliveries = async (): Promise<BusMessage[]> => {
    const seen: BusMessage[] = [];
    await bus.consume(
      { stream: stream.name, durable: 'probe', ackWaitMs: 1000, maxDeliver: 1 },
      async (m) => {
        seen.push(m);
        await m.ack();
      },
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    return seen;
  };
  const received = async (): Promise<string[]> => (await deliveries()).map((m) => m.msgId);

  it('publishes every pending row with its msgId, in batches, and marks each published', async () => {
    const outbox = new ListOutbox();
    for (let i = 0; i < 5; i += 1) outbox.append(`metadata:${i}`);
    const relay = new OutboxRelay(outbox, bus, { batchSize: 2 });

    expect(await relay.flush()).toBe(5);
    expect(outbox.rows.every((row) => row.published)).toBe(true);
    expect((await received()).sort()).toEqual([
      'metadata:0',
      'metadata:1',
      'metadata:2',
      'metadata:3',
      'metadata:4',
    ]);
  });

  it('stamps each message with the time it was published, for the receiver to estimate clock skew', async () => {
    const outbox = new ListOutbox();
    outbox.append('metadata:0');
    const before = Date.now();
    await new OutboxRelay(outbox, bus).flush();
    const [message] = await deliveries();
    const sentAt = Number(message!.headers[SENT_AT_HEADER]);
    expect(sentAt).toBeGreaterThanOrEqual(before);
    expect(sentAt).toBeLessThanOrEqual(Date.now());
  });

  it('stores a message once when two relays publish the same row', async () => {
    const outbox = new ListOutbox();
    outbox.append('metadata:twice');
    const [a, b] = [new OutboxRelay(outbox, bus), new OutboxRelay(outbox, bus)];
    await Promise.all([a.flush(), b.flush()]);
    expect(await received()).toEqual(['metadata:twice']);
  });

  it('leaves a row pending when its publish fails, and publishes it on a later round', async () => {
    const outbox = new ListOutbox();
    outbox.append('metadata:late');
    const errors: unknown[] = [];
    const empty = await InMemoryBus.connect(new InMemoryBroker(), { streams: [] });
    await expect(
      new OutboxRelay(outbox, empty, { onError: (e) => errors.push(e) }).flush(),
    ).rejects.toMatchObject({
      kind: 'no-stream',
    });
    expect(outbox.rows[0].published).toBe(false);

    expect(await new OutboxRelay(outbox, bus).flush()).toBe(1);
    await empty.close();
  });

  // A row whose subject no stream takes (a changed DQKD_SUBJECT_PREFIX, say) is published by no round.
  it('goes on past a row whose publish fails, within the round, and reports it', async () => {
    const outbox = new ListOutbox();
    outbox.append('metadata:nowhere', 'elsewhere');
    outbox.append('metadata:2');
    outbox.append('metadata:3');
    const relay = new OutboxRelay(outbox, bus, { batchSize: 1 });
    await expect(relay.flush()).rejects.toMatchObject({ kind: 'no-stream' });
    expect(outbox.rows.map((row) => row.published)).toEqual([false, true, true]);
    expect(await received()).toEqual(['metadata:2', 'metadata:3']);
  });

  it('publishes after a kick and stops polling once stopped', async () => {
    const outbox = new ListOutbox();
    const relay = new OutboxRelay(outbox, bus, { intervalMs: 20 });
    relay.start();
    outbox.append('metadata:polled');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(outbox.rows[0].published).toBe(true);

    await relay.stop();
    outbox.append('metadata:after-stop');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(outbox.rows[1].published).toBe(false);
  });
});
