import type { BusMessage } from '../bus';
import { inConsumer, inStream, outStream, protocolSubject, siteTopology } from '../protocol/topology';
import { InMemoryBroker } from './broker';
import { InMemoryBus } from './memory-bus';

const prefix = 'trim';
const BUDGET = 1_000;
const PAYLOAD = 100;
const eastOut = outStream('kme-east', { prefix }).name;
const westIn = inStream('kme-west', [], { prefix }).name;
const toWest = protocolSubject('kme-east', 'kme-west', 'assignment', { prefix });

describe('in-memory broker, over its memory budget', () => {
  let broker: InMemoryBroker;
  const buses: InMemoryBus[] = [];

  beforeEach(() => {
    broker = new InMemoryBroker({ keepFinishedBytes: BUDGET });
  });
  afterEach(async () => {
    await Promise.all(buses.splice(0).map((bus) => bus.close({ graceMs: 10 })));
    broker.close();
  });

  const connect = async (site: 'kme-east' | 'kme-west') => {
    const peer = site === 'kme-east' ? 'kme-west' : 'kme-east';
    const bus = await InMemoryBus.connect(broker, siteTopology(site, [peer], { prefix }));
    buses.push(bus);
    return bus;
  };
  const publish = async (bus: InMemoryBus, count: number, from = 0) => {
    for (let i = from; i < from + count; i++) {
      await bus.publish(toWest, new Uint8Array(PAYLOAD).fill(i), { msgId: `m${i}` });
    }
  };
  /** Takes what kme-west's consumer is given, settling each, until `count` have come. */
  const settle = async (bus: InMemoryBus, count: number) => {
    const seen: BusMessage[] = [];
    await new Promise<void>((resolve) => {
      void bus.consume(inConsumer('kme-west', { prefix }), async (m) => {
        seen.push(m);
        await m.ack();
        if (seen.length === count) resolve();
      });
    });
    return seen;
  };

  it('drops the oldest messages every reader is done with, down to the budget', async () => {
    const [east, west] = [await connect('kme-east'), await connect('kme-west')];
    const settled = settle(west, 30);
    await publish(east, 30);
    await settled;
    await publish(east, 1, 30);

    for (const name of [eastOut, westIn]) {
      expect(broker.streamState(name)).toEqual({
        messages: BUDGET / PAYLOAD,
        bytes: BUDGET,
        lastSequence: 31,
      });
    }
  });

  it('keeps every message a consumer has not settled, and delivers them all in order', async () => {
    const [east, west] = [await connect('kme-east'), await connect('kme-west')];
    await publish(east, 30);

    // kme-east's OUT stream is copied in full: only its reader's budget applies.
    expect(broker.streamState(eastOut)?.bytes).toBe(BUDGET);
    expect(broker.streamState(westIn)).toEqual({ messages: 30, bytes: 30 * PAYLOAD, lastSequence: 30 });
    const seen = await settle(west, 30);
    expect(seen.map((m) => m.msgId)).toEqual(Array.from({ length: 30 }, (_, i) => `m${i}`));
  });

  it('keeps everything in a stream nobody reads yet, for the reader that comes later', async () => {
    const east = await InMemoryBus.connect(broker, { streams: [outStream('kme-east', { prefix })] });
    buses.push(east);
    await publish(east, 30);
    expect(broker.streamState(eastOut)?.messages).toBe(30);

    const west = await connect('kme-west');
    const seen = await settle(west, 30);
    expect(new Set(seen.map((m) => m.msgId)).size).toBe(30);
  });
});
