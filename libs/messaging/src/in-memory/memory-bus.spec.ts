import { siteNaming } from '../naming';
import { InMemoryBroker } from './broker';
import { InMemoryBus } from './memory-bus';

describe('InMemoryBus', () => {
  const naming = siteNaming('kme-east');
  const topology = {
    streams: [
      {
        name: naming.stream('blocks'),
        subjects: [naming.wildcard('blocks')],
        retention: 'workqueue' as const,
        maxAgeMs: 60_000,
        duplicateWindowMs: 30_000,
      },
    ],
    consumers: [{ stream: naming.stream('blocks'), durable: 'replication', ackWaitMs: 1000, maxDeliver: 5 }],
  };

  it('answers a publish before a consumer handles the message, as a broker would', async () => {
    const broker = new InMemoryBroker();
    const bus = await InMemoryBus.connect(broker, topology);
    try {
      const order: string[] = [];
      let handled = (): void => undefined;
      const done = new Promise<void>((resolve) => (handled = resolve));
      await bus.consume(topology.consumers[0]!, async (message) => {
        order.push('handled');
        await message.ack();
        handled();
      });
      await bus.publish(naming.subject('blocks', 'metadata'), new Uint8Array([1]), { msgId: 'm1' });
      order.push('published');
      await done;
      expect(order).toEqual(['published', 'handled']);
    } finally {
      await bus.close();
      broker.close();
    }
  });
});
