import type { ConsumerSpec } from './topology';

/**
 * The bus port: everything that crosses processes and sites goes through it.
 *
 * Delivery is at least once. A message is delivered again when it is nak'd, when its
 * handler throws, when its handler returned without settling it and the consumer's
 * ackWait has passed, or when the consumer holding it goes away (closed or crashed);
 * never more than maxDeliver times in all. A handler still running keeps its message for
 * up to 20 ackWaits (MAX_WORKING_ACK_WAITS): the bus tells the server it is at work.
 * Handlers therefore must be idempotent.
 *
 * Ordering: a consumer whose maxAckPending is 1 receives the messages of its stream
 * (those matching its filter) one at a time in publish order, and a message that is
 * redelivered comes again before any later one. With more in flight there is no order.
 */
export interface Bus {
  /**
   * Whether a stored message outlives this process. JetStream's do; the in-process bus of the embedded
   * default keeps nothing across a crash, so what a publisher must not lose it keeps in its ledger as well
   * (see KeyStore.record's `sent`).
   */
  readonly durable: boolean;
  /** Resolves once the message is stored (or recognised as a duplicate of msgId); see `durable`. */
  publish(subject: string, payload: Uint8Array, options: PublishOptions): Promise<PublishReceipt>;
  /**
   * Creates or updates the durable consumer, then delivers its messages to the handler.
   * Several subscriptions with one durable name, in any process, share its messages.
   */
  consume(consumer: ConsumerSpec, handler: MessageHandler, options?: ConsumeOptions): Promise<Subscription>;
  /**
   * Resolves when the broker answers now (readiness probes); rejects while it is out of reach, or while a
   * stream or consumer deleted under the bus could not be provisioned again.
   */
  ping(): Promise<void>;
  /**
   * Stops fetching, lets in-flight handlers finish (up to the grace period), then
   * disconnects. Acks confirmed before close are never undone; messages still held
   * are delivered again later.
   */
  close(options?: CloseOptions): Promise<void>;
}

export interface PublishOptions {
  /** Publishing the same msgId again within the stream's duplicate window stores nothing. */
  msgId: string;
  headers?: Readonly<Record<string, string>>;
}

export interface PublishReceipt {
  stream: string;
  sequence: number;
  duplicate: boolean;
}

export interface BusMessage {
  readonly subject: string;
  readonly data: Uint8Array;
  readonly msgId: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly streamSequence: number;
  /** 1 on first delivery. */
  readonly deliveryCount: number;
  readonly redelivered: boolean;
  /** Resolves once the server confirmed the ack; only the first settle call counts. */
  ack(): Promise<void>;
  /** Asks for redelivery after delayMs (default at once). */
  nak(delayMs?: number): Promise<void>;
  /** Never deliver this message again. */
  term(): Promise<void>;
}

export type MessageHandler = (message: BusMessage) => Promise<void>;

export interface ConsumeOptions {
  /** Handlers running at once in this subscription (default 1). */
  maxInFlight?: number;
  /** Redelivery delay for a message whose handler threw before settling it (default 1000). */
  retryDelayMs?: number;
  /** Told about handler failures and failed pulls, which the bus otherwise absorbs. */
  onError?: (error: unknown) => void;
}

export interface CloseOptions {
  /** How long in-flight handlers may still run (default 5000). */
  graceMs?: number;
}

export interface Subscription {
  close(options?: CloseOptions): Promise<void>;
}

export const DEFAULT_GRACE_MS = 5000;
