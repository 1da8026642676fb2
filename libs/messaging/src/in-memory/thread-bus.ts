import type { MessagePort } from 'node:worker_threads';

import type { Bus, PublishOptions, PublishReceipt, Subscription } from '../bus';
import { BusClosedError, BusConfigError, PublishFailedError } from '../errors';
import type { Topology } from '../topology';
import type { InMemoryBroker } from './broker';
import { InMemoryBus } from './memory-bus';

/*
 * The embedded default's in-memory broker lives in its main thread. An app that runs in a worker thread of
 * the same process (the API gateways, so that their TLS and HTTP work runs beside everything else rather than
 * after it) reaches the broker through a MessagePort. Such an app publishes, pings and provisions; it does not
 * consume, which is all an API gateway needs.
 */

type Call =
  | { readonly op: 'connect'; readonly topology: Topology }
  | {
      readonly op: 'publish';
      readonly subject: string;
      readonly payload: Uint8Array;
      readonly options: PublishOptions;
    }
  | { readonly op: 'ping' }
  | { readonly op: 'close' };

type Answer =
  | { readonly id: number; readonly ok: true; readonly value?: PublishReceipt }
  | { readonly id: number; readonly ok: false; readonly message: string };

/** Main thread: answers the calls of the ThreadBus at the other end of `port` with a bus of `broker`. */
export function serveBrokerToThread(broker: InMemoryBroker, port: MessagePort): void {
  let bus: InMemoryBus | undefined;
  const perform = async (call: Call): Promise<PublishReceipt | undefined> => {
    if (call.op === 'connect') {
      bus = await InMemoryBus.connect(broker, call.topology);
      return undefined;
    }
    if (bus === undefined) throw new BusClosedError('the thread bus (not connected)');
    if (call.op === 'publish') return bus.publish(call.subject, call.payload, call.options);
    await (call.op === 'ping' ? bus.ping() : bus.close());
    return undefined;
  };
  port.on('message', ({ id, call }: { id: number; call: Call }) => {
    void perform(call).then(
      (value) => port.postMessage({ id, ok: true, value } satisfies Answer),
      (error: unknown) =>
        port.postMessage({
          id,
          ok: false,
          message: error instanceof Error ? error.message : String(error),
        } satisfies Answer),
    );
  });
}

/** Worker thread: a Bus whose publishes are stored by the main thread's broker (see serveBrokerToThread). */
export class ThreadBus implements Bus {
  private next = 0;
  private closing: Promise<void> | undefined;
  private readonly waiting = new Map<number, { resolve: (answer: Answer) => void }>();

  private constructor(private readonly port: MessagePort) {
    port.on('message', (answer: Answer) => {
      this.waiting.get(answer.id)?.resolve(answer);
      this.waiting.delete(answer.id);
    });
  }

  static async connect(port: MessagePort, topology: Topology): Promise<ThreadBus> {
    const bus = new ThreadBus(port);
    await bus.call({ op: 'connect', topology });
    return bus;
  }

  async publish(subject: string, payload: Uint8Array, options: PublishOptions): Promise<PublishReceipt> {
    if (this.closing) throw new BusClosedError();
    const answer = await this.send({ op: 'publish', subject, payload, options });
    if (!answer.ok) throw new PublishFailedError(subject, { cause: new Error(answer.message) });
    return answer.value!;
  }

  consume(): Promise<Subscription> {
    return Promise.reject(new BusConfigError('consume', 'an app in a worker thread only publishes'));
  }

  reply(): Promise<Subscription> {
    return Promise.reject(new BusConfigError('reply', 'an app in a worker thread only publishes'));
  }

  request(): Promise<Uint8Array> {
    return Promise.reject(new BusConfigError('request', 'an app in a worker thread only publishes'));
  }

  async ping(): Promise<void> {
    if (this.closing) throw new BusClosedError();
    await this.call({ op: 'ping' });
  }

  close(): Promise<void> {
    this.closing ??= this.call({ op: 'close' }).finally(() => this.port.close());
    return this.closing;
  }

  private async call(call: Call): Promise<void> {
    const answer = await this.send(call);
    if (!answer.ok) throw new BusClosedError(`the main thread's broker (${answer.message})`);
  }

  private send(call: Call): Promise<Answer> {
    const id = this.next++;
    return new Promise((resolve) => {
      this.waiting.set(id, { resolve });
      this.port.postMessage({ id, call });
    });
  }
}
