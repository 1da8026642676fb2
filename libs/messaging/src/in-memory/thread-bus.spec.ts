import { MessageChannel } from 'node:worker_threads';

import type { BusMessage } from '../bus';
import { BusClosedError, BusConfigError, PublishFailedError } from '../errors';
import type { Topology } from '../topology';
import { InMemoryBroker } from './broker';
import { InMemoryBus } from './memory-bus';
import { serveBrokerToThread, ThreadBus } from './thread-bus';

const reader = { stream: 'OUT', durable: 'reader', ackWaitMs: 5_000, maxDeliver: 5 };
const topology: Topology = {
  streams: [
    { name: 'OUT', subjects: ['out.>'], retention: 'limits', maxAgeMs: 60_000, duplicateWindowMs: 10_000 },
  ],
  consumers: [reader],
};

/** A broker served over a fresh channel, the main thread's bus on it, and a ThreadBus at the other end. */
async function bridged() {
  const broker = new InMemoryBroker();
  const main = await InMemoryBus.connect(broker, topology);
  const { port1, port2 } = new MessageChannel();
  serveBrokerToThread(broker, port1);
  const thread = await ThreadBus.connect(port2, topology);
  return { main, thread, port1 };
}

describe('ThreadBus', () => {
  it('stores what it publishes in the served broker, once per msgId', async () => {
    const { main, thread, port1 } = await bridged();
    const received: BusMessage[] = [];
    const subscription = await main.consume(reader, async (message) => {
      received.push(message);
      await message.ack();
    });
    const first = await thread.publish('out.a', Uint8Array.of(1, 2, 3), { msgId: 'm-1' });
    const again = await thread.publish('out.a', Uint8Array.of(1, 2, 3), { msgId: 'm-1' });
    expect(first).toMatchObject({ stream: 'OUT', duplicate: false });
    expect(again).toMatchObject({ sequence: first.sequence, duplicate: true });
    await thread.ping();
    for (let i = 0; i < 50 && received.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(received.map((message) => [message.msgId, [...message.data]])).toEqual([['m-1', [1, 2, 3]]]);
    await subscription.close();
    await thread.close();
    await main.close();
    port1.close();
  });

  it('refuses a subject no stream stores, consuming, and any use once closed', async () => {
    const { main, thread, port1 } = await bridged();
    await expect(thread.publish('elsewhere.a', Uint8Array.of(1), { msgId: 'm-2' })).rejects.toBeInstanceOf(
      PublishFailedError,
    );
    await expect(thread.consume()).rejects.toBeInstanceOf(BusConfigError);
    await thread.close();
    await expect(thread.publish('out.a', Uint8Array.of(1), { msgId: 'm-3' })).rejects.toBeInstanceOf(
      BusClosedError,
    );
    await expect(thread.ping()).rejects.toBeInstanceOf(BusClosedError);
    await main.close();
    port1.close();
  });
});
