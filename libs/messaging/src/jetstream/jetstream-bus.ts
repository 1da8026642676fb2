import {
  jetstreamManager,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import { connect, headers as natsHeaders, RequestError, type NatsConnection } from '@nats-io/transport-node';

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
import { dispatchOptions, settleWithin, type Settlement } from '../delivery';
import {
  BusClosedError,
  BusConfigError,
  BusError,
  BusUnavailableError,
  NoStreamError,
  PublishFailedError,
  SettleFailedError,
} from '../errors';
import { assertLiteralSubject } from '../subjects';
import {
  resolveConsumer,
  resolveTopology,
  type ConsumerSpec,
  type StreamRegister,
  type Topology,
} from '../topology';
import { connectionMaterial } from './connection-material';
import { resolveNatsOptions, type NatsBusOptions, type ResolvedNatsOptions } from './options';
import { ensureConsumer, ensureCopiedStream, ensureStream } from './provision';
import { PullSubscription } from './pull-subscription';
import { Recovery } from './recovery';

/** The bus over NATS JetStream: durable messages, shared by durable pull consumers. */
export class JetStreamBus implements Bus {
  readonly durable = true;
  private closing: Promise<void> | undefined;
  private readonly subscriptions = new Set<Subscription>();

  private constructor(
    private readonly nc: NatsConnection,
    private readonly jsm: JetStreamManager,
    private readonly js: JetStreamClient,
    private readonly options: ResolvedNatsOptions,
    private readonly recovery: Recovery,
  ) {}

  /**
   * Connects, then creates or updates every stream and consumer of the topology. With `register`, a stream the
   * peers copy that the register holds and NATS no longer has is not made again: publishing to it fails until
   * the operator has it made (see Recovery).
   */
  static async connect(
    options: NatsBusOptions,
    topology: Topology,
    register?: StreamRegister,
  ): Promise<JetStreamBus> {
    const resolved = resolveNatsOptions(options);
    const { streams, consumers } = resolveTopology(topology);
    const connection = { ...resolved.connection, ...(await connectionMaterial(resolved)) };
    const nc = await connect(connection).catch((cause) => {
      throw new BusUnavailableError(resolved.where, { cause });
    });
    try {
      const jsm = await jetstreamManager(nc, { timeout: resolved.requestTimeoutMs, domain: resolved.domain });
      const missing: string[] = [];
      for (const stream of streams) {
        const outcome =
          stream.copiedByPeers && register !== undefined
            ? await ensureCopiedStream(jsm, stream, register)
            : await ensureStream(jsm, stream);
        if (outcome === 'missing') missing.push(stream.name);
      }
      for (const consumer of consumers) await ensureConsumer(jsm, consumer);
      const recovery = new Recovery(jsm, streams, missing);
      return new JetStreamBus(nc, jsm, jsm.jetstream(), resolved, recovery);
    } catch (error) {
      await nc.close();
      throw error instanceof BusError ? error : new BusUnavailableError(resolved.where, { cause: error });
    }
  }

  async publish(subject: string, payload: Uint8Array, options: PublishOptions): Promise<PublishReceipt> {
    this.assertOpen();
    assertLiteralSubject(subject);
    if (options.msgId === '') throw new BusConfigError('msgId', 'must not be empty');
    const headers = natsHeaders();
    for (const [key, value] of Object.entries(options.headers ?? {})) headers.set(key, value);
    const send = () =>
      this.js.publish(subject, payload, {
        msgID: options.msgId,
        headers,
        timeout: this.options.requestTimeoutMs,
      });
    try {
      const ack = await send().catch(async (cause: unknown) => {
        // Nobody stores the subject: its stream may have been deleted, which only provisioning it again mends.
        if (noResponders(cause) && (await this.recovery.restoreStreamOf(subject))) return send();
        throw cause;
      });
      this.recovery.stored(ack.stream);
      return { stream: ack.stream, sequence: ack.seq, duplicate: ack.duplicate };
    } catch (cause) {
      if (noResponders(cause)) throw new NoStreamError(subject, { cause });
      throw new PublishFailedError(subject, { cause });
    }
  }

  async consume(
    spec: ConsumerSpec,
    handler: MessageHandler,
    options?: ConsumeOptions,
  ): Promise<Subscription> {
    this.assertOpen();
    const resolved = resolveConsumer(spec);
    const dispatch = dispatchOptions(options);
    await ensureConsumer(this.jsm, resolved);
    const consumer = await this.js.consumers.get(resolved.stream, resolved.durable).catch((cause) => {
      throw new BusUnavailableError(this.options.where, { cause });
    });
    const subscription = new PullSubscription(
      consumer,
      handler,
      dispatch,
      resolved.ackWaitMs,
      this.options.pullExpiresMs,
      (m) => this.settlement(m),
      {
        afterFailedPull: () => this.recovery.restoreConsumer(resolved),
        afterEmptyPull: () => this.recovery.restoreLostStore(resolved),
      },
    );
    return this.track(subscription);
  }

  close(options?: CloseOptions): Promise<void> {
    this.closing ??= this.shutdown(options);
    return this.closing;
  }

  private async shutdown(options?: CloseOptions): Promise<void> {
    await Promise.all([...this.subscriptions].map((s) => s.close(options)));
    // drain() flushes acks and publishes still in the socket before closing it. One that fails (NATS out of
    // reach: its last flush is rejected) has not closed the connection, which would go on reconnecting.
    let drained = false;
    const drain = this.nc.drain().then(() => (drained = true));
    await settleWithin([drain], options?.graceMs ?? DEFAULT_GRACE_MS);
    if (!drained) await this.nc.close();
  }

  private settlement(m: JsMsg): Settlement {
    const confirm = async (action: 'ack' | 'nak' | 'term', send: () => Promise<unknown>) => {
      if (this.nc.isClosed()) throw new BusClosedError();
      try {
        await send();
      } catch (cause) {
        throw new SettleFailedError(action, m.subject, { cause });
      }
    };
    const timeout = this.options.requestTimeoutMs;
    return {
      ack: () => confirm('ack', () => m.ackAck({ timeout })),
      nak: (delayMs) => confirm('nak', () => (m.nak(delayMs > 0 ? delayMs : undefined), this.nc.flush())),
      term: () => confirm('term', () => (m.term(), this.nc.flush())),
      // Unconfirmed: a lost one only means the message may come again, which handlers tolerate. It runs on a
      // timer, where a throw (a draining connection refuses publishes) would end the process.
      working: () => {
        try {
          if (!this.nc.isClosed()) m.working();
        } catch {
          // Closing: the server takes the message back after ackWait.
        }
      },
    };
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
    // A JetStream API round trip, not just the socket: a server without JetStream is not ready.
    await this.jsm.getAccountInfo().catch((cause: unknown) => {
      throw new BusUnavailableError(this.options.where, { cause });
    });
    // Nor is a bus whose deleted stream or consumer could not be provisioned again.
    await this.recovery.check();
  }

  private assertOpen(): void {
    if (this.closing) throw new BusClosedError();
  }
}

function causes(error: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let e = error; e instanceof Error && chain.length < 5; e = e.cause) chain.push(e);
  return chain;
}

function noResponders(error: unknown): boolean {
  return causes(error).some((e) => e instanceof RequestError && e.isNoResponders());
}
