import type { BusMessage } from './bus';
import { BusConfigError } from './errors';
import {
  Dispatcher,
  dispatchOptions,
  MAX_WORKING_ACK_WAITS,
  type Delivery,
  type Settlement,
} from './delivery';

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
    working: () => void log.push('working'),
  };
}

/** Long enough that no heartbeat falls into the tests that are not about it. */
const ACK_WAIT_MS = 30_000;

describe('Dispatcher', () => {
  it('holds a slot until the handler returns and its settle call is confirmed', async () => {
    let confirm = (): void => undefined;
    const settlement: Settlement = {
      ack: () => new Promise((resolve) => (confirm = resolve)),
      nak: async () => undefined,
      term: async () => undefined,
      working: () => undefined,
    };
    const dispatcher = new Dispatcher(
      async (m) => void m.ack(),
      dispatchOptions({ maxInFlight: 2 }),
      ACK_WAIT_MS,
    );
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
    const dispatcher = new Dispatcher(
      async () => {
        throw new Error('kcv mismatch');
      },
      options,
      ACK_WAIT_MS,
    );
    dispatcher.run(delivery(1), recordingSettlement(log));
    await dispatcher.drain(1000);
    expect(log).toEqual(['nak 250']);
    expect(errors).toEqual([new Error('kcv mismatch')]);
  });

  it('sends only the first of several settle calls', async () => {
    const log: string[] = [];
    const dispatcher = new Dispatcher(
      async (m: BusMessage) => {
        await m.ack();
        await m.nak(10);
        await m.term();
        throw new Error('after the ack');
      },
      dispatchOptions(),
      ACK_WAIT_MS,
    );
    dispatcher.run(delivery(1), recordingSettlement(log));
    await dispatcher.drain(1000);
    expect(log).toEqual(['ack']);
  });

  it('wakes a waiter once a slot frees', async () => {
    const log: string[] = [];
    const dispatcher = new Dispatcher(async (m) => m.ack(), dispatchOptions(), ACK_WAIT_MS);
    dispatcher.run(delivery(1), recordingSettlement(log));
    expect(dispatcher.free).toBe(0);
    await dispatcher.whenFree();
    expect([dispatcher.free, log]).toEqual([1, ['ack']]);
  });

  describe('a handler that outlasts ackWait', () => {
    beforeEach(() => jest.useFakeTimers());
    afterEach(() => jest.useRealTimers());

    it('tells the server it is at work every half ackWait until it settles, and not after', async () => {
      const log: string[] = [];
      const dispatcher = new Dispatcher(
        async (m) => {
          await new Promise((resolve) => setTimeout(resolve, 260));
          await m.ack();
          await new Promise((resolve) => setTimeout(resolve, 200));
        },
        dispatchOptions(),
        100,
      );
      dispatcher.run(delivery(1), recordingSettlement(log));
      await jest.advanceTimersByTimeAsync(1000);
      expect(log).toEqual(['working', 'working', 'working', 'working', 'working', 'ack']);
      expect(await dispatcher.drain(0)).toBe(true);
    });

    it('gives up on a handler still running after MAX_WORKING_ACK_WAITS, leaving the message to ackWait', async () => {
      const log: string[] = [];
      const dispatcher = new Dispatcher(
        async () => new Promise((resolve) => setTimeout(resolve, 100 * (MAX_WORKING_ACK_WAITS + 10))),
        dispatchOptions(),
        100,
      );
      dispatcher.run(delivery(1), recordingSettlement(log));
      await jest.advanceTimersByTimeAsync(100 * (MAX_WORKING_ACK_WAITS + 20));
      expect(log).toEqual(Array.from({ length: 2 * MAX_WORKING_ACK_WAITS }, () => 'working'));
      expect(await dispatcher.drain(0)).toBe(true);
    });

    it('stops once a handler returns without settling, leaving the message to ackWait', async () => {
      const log: string[] = [];
      const dispatcher = new Dispatcher(
        async () => new Promise((resolve) => setTimeout(resolve, 120)),
        dispatchOptions(),
        100,
      );
      dispatcher.run(delivery(1), recordingSettlement(log));
      await jest.advanceTimersByTimeAsync(1000);
      expect(log).toEqual(['working', 'working']);
    });
  });

  it.each([{ maxInFlight: 0 }, { retryDelayMs: -1 }, { maxInFlight: 1.5 }])('refuses options %j', (options) =>
    expect(() => dispatchOptions(options)).toThrow(BusConfigError),
  );
});
