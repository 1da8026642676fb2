import {
  DEFAULT_GRACE_MS,
  type Bus,
  type CloseOptions,
  type ConsumeOptions,
  type MessageHandler,
  type PublishOptions,
  type PublishReceipt,
  type Subscription,
} from '../bus';
import { Dispatcher, dispatchOptions, type DispatchOptions, type Settlement } from '../delivery';
import { BusClosedError, BusConfigError } from '../errors';
import { assertLiteralSubject } from '../subjects';
import { resolveConsumer, resolveTopology, type ConsumerSpec, type Topology } from '../topology';
import type { InMemoryBroker } from './broker';
import type { Holder, MemoryConsumer } from './memory-consumer';

/** One connection to an InMemoryBroker, with the same semantics as the JetStream adapter. */
export class InMemoryBus implements Bus {
  readonly durable = false;
  private closing: Promise<void> | undefined;
  private closed = false;
  private readonly subscriptions = new Set<Subscription>();

  private constructor(private readonly broker: InMemoryBroker) {}

  static async connect(broker: InMemoryBroker, topology: Topology): Promise<InMemoryBus> {
    const { streams, consumers } = resolveTopology(topology);
    streams.forEach((s) => broker.provisionStream(s));
    consumers.forEach((c) => broker.provisionConsumer(c));
    return new InMemoryBus(broker);
  }

  async publish(subject: string, payload: Uint8Array, options: PublishOptions): Promise<PublishReceipt> {
    this.assertOpen();
    assertLiteralSubject(subject);
    if (options.msgId === '') throw new BusConfigError('msgId', 'must not be empty');
    return this.broker.store({
      subject,
      data: payload.slice(),
      msgId: options.msgId,
      headers: { ...options.headers },
    });
  }

  async consume(
    spec: ConsumerSpec,
    handler: MessageHandler,
    options?: ConsumeOptions,
  ): Promise<Subscription> {
    this.assertOpen();
    const dispatch = dispatchOptions(options);
    const consumer = this.broker.provisionConsumer(resolveConsumer(spec));
    return this.track(new MemorySubscription(consumer, handler, dispatch, () => this.closed));
  }

  close(options?: CloseOptions): Promise<void> {
    this.closing ??= this.shutdown(options);
    return this.closing;
  }

  private async shutdown(options?: CloseOptions): Promise<void> {
    await Promise.all([...this.subscriptions].map((s) => s.close(options)));
    this.closed = true;
  }

  private track(subscription: Subscription): Subscription {
    this.subscriptions.add(subscription);
    return {
      close: async (options) => {
        this.subscriptions.delete(subscription);
        await subscription.close(options);
      },
    };
  }

  async ping(): Promise<void> {
    this.assertOpen();
  }

  private assertOpen(): void {
    if (this.closing) throw new BusClosedError();
  }
}

class MemorySubscription implements Subscription {
  private open = true;
  private readonly dispatcher: Dispatcher;
  private readonly holder: Holder;

  constructor(
    private readonly consumer: MemoryConsumer,
    handler: MessageHandler,
    options: DispatchOptions,
    busClosed: () => boolean,
  ) {
    this.dispatcher = new Dispatcher(handler, options, consumer.spec.ackWaitMs, () => consumer.pump());
    this.holder = {
      free: () => (this.open ? this.dispatcher.free : 0),
      deliver: (delivery, settlement) => this.dispatcher.run(delivery, unlessClosed(settlement, busClosed)),
    };
    consumer.attach(this.holder);
  }

  async close(options?: CloseOptions): Promise<void> {
    if (!this.open) return;
    this.open = false;
    this.consumer.detach(this.holder);
    await this.dispatcher.drain(options?.graceMs ?? DEFAULT_GRACE_MS);
    // Whatever is still unsettled counts as a crash: the next subscription gets it.
    this.consumer.release(this.holder);
  }
}

/** After close, a settle would reach a server connection that no longer exists. */
function unlessClosed(settlement: Settlement, closed: () => boolean): Settlement {
  const guard =
    <A extends unknown[]>(settle: (...args: A) => Promise<void>) =>
    async (...args: A) => {
      if (closed()) throw new BusClosedError();
      return settle(...args);
    };
  return {
    ack: guard(settlement.ack),
    nak: guard(settlement.nak),
    term: guard(settlement.term),
    working: () => {
      if (!closed()) settlement.working();
    },
  };
}
