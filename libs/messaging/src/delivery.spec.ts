import type { BusMessage } from './bus';
import { BusConfigError } from './errors';
import { Dispatcher, dispatchOptions, type Delivery, type Settlement } from './delivery';

const delivery = (n: number): Delivery => ({
  subject: 'dqkd.kme-east.blocks.metadata',
  data: new Uint8Array([n]),
  msgId: `m${n}`,
  headers: {},
  streamSequence: n,
  deliveryCount: 1,
  redelivered: false,
});

function recordingSettlement(log: string[]): Settlement {
  return {
    ack: async () => void log.push('ack'),
    nak: async (delayMs) => void log.push(`nak ${delayMs}`),
    term: async () => void log.push('term'),
  };
}

describe('Dispatcher', () => {
  it('holds a slot until the handler returns and its settle call is confirmed', async () => {
    let confirm = (): void => undefined;
    const settlement: Settlement = {
      ack: () => new Promise((resolve) => (confirm = resolve)),
      nak: async () => undefined,
      term: async () => undefined,
    };
    const dispatcher = new Dispatcher(async (m) => void m.ack(), dispatchOptions({ maxInFlight: 2 }));
    dispatcher.run(delivery(1), settlement);
    expect(dispatcher.free).toBe(1);
    expect(await dispatcher.drain(50)).toBe(false);
    confirm();
    expect(await dispatcher.drain(1000)).toBe(true);
    expect(dispatcher.free).toBe(2);
  });

  it('naks a message after retryDelayMs when its handler throws before settling, and reports the error', async () => {
    const log: string[] = [];
    const errors: unknown[] = [];
    const options = dispatchOptions({ retryDelayMs: 250, onError: (e) => errors.push(e) });
    const dispatcher = new Dispatcher(async () => {
      throw new Error('kcv mismatch');
    }, options);
    dispatcher.run(delivery(1), recordingSettlement(log));
    await dispatcher.drain(1000);
    expect(log).toEqual(['nak 250']);
    expect(errors).toEqual([new Error('kcv mismatch')]);
  });

  it('sends only the first of several settle calls', async () => {
    const log: string[] = [];
    const dispatcher = new Dispatcher(async (m: BusMessage) => {
      await m.ack();
      await m.nak(10);
      await m.term();
      throw new Error('after the ack');
    }, dispatchOptions());
    dispatcher.run(delivery(1), recordingSettlement(log));
    await dispatcher.drain(1000);
    expect(log).toEqual(['ack']);
  });

  it('wakes a waiter once a slot frees', async () => {
    const log: string[] = [];
    const dispatcher = new Dispatcher(async (m) => m.ack(), dispatchOptions());
    dispatcher.run(delivery(1), recordingSettlement(log));
    expect(dispatcher.free).toBe(0);
    await dispatcher.whenFree();
    expect([dispatcher.free, log]).toEqual([1, ['ack']]);
  });

  it.each([{ maxInFlight: 0 }, { retryDelayMs: -1 }, { maxInFlight: 1.5 }])('refuses options %j', (options) =>
    expect(() => dispatchOptions(options)).toThrow(BusConfigError),
  );
});
