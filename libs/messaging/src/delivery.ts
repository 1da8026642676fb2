import type { BusMessage, ConsumeOptions, MessageHandler } from './bus';
import { BusConfigError } from './errors';

/** How an adapter settles one delivery with its server (or in-memory broker). */
export interface Settlement {
  ack(): Promise<void>;
  nak(delayMs: number): Promise<void>;
  term(): Promise<void>;
  /** Tells the server the handler is still at work: the message's ackWait starts again. Best effort. */
  working(): void;
}

export type Delivery = Omit<BusMessage, 'ack' | 'nak' | 'term'>;

/** Wraps a delivery so that only its first ack, nak or term reaches the server. */
class SettleOnceMessage implements BusMessage {
  readonly subject: string;
  readonly data: Uint8Array;
  readonly msgId: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly streamSequence: number;
  readonly deliveryCount: number;
  readonly redelivered: boolean;
  settling: Promise<void> | undefined;

  constructor(
    delivery: Delivery,
    private readonly settlement: Settlement,
  ) {
    this.subject = delivery.subject;
    this.data = delivery.data;
    this.msgId = delivery.msgId;
    this.headers = delivery.headers;
    this.streamSequence = delivery.streamSequence;
    this.deliveryCount = delivery.deliveryCount;
    this.redelivered = delivery.redelivered;
  }

  ack(): Promise<void> {
    return this.once(() => this.settlement.ack());
  }

  nak(delayMs = 0): Promise<void> {
    return this.once(() => this.settlement.nak(Math.max(0, Math.floor(delayMs))));
  }

  term(): Promise<void> {
    return this.once(() => this.settlement.term());
  }

  working(): void {
    if (!this.settling) this.settlement.working();
  }

  private once(settle: () => Promise<void>): Promise<void> {
    if (!this.settling) {
      this.settling = settle();
      // Observed later by the dispatcher; this keeps an unawaited failure from crashing the process.
      this.settling.catch(() => undefined);
    }
    return this.settling;
  }
}

/** How many ackWaits a running handler keeps its message for at most (see Dispatcher.execute). */
export const MAX_WORKING_ACK_WAITS = 20;

export type DispatchOptions = Required<Pick<ConsumeOptions, 'maxInFlight' | 'retryDelayMs'>> &
  Pick<ConsumeOptions, 'onError'>;

export function dispatchOptions(options: ConsumeOptions = {}): DispatchOptions {
  const maxInFlight = options.maxInFlight ?? 1;
  const retryDelayMs = options.retryDelayMs ?? 1000;
  if (!Number.isSafeInteger(maxInFlight) || maxInFlight < 1) {
    throw new BusConfigError('maxInFlight', 'must be a positive integer');
  }
  if (!Number.isSafeInteger(retryDelayMs) || retryDelayMs < 0) {
    throw new BusConfigError('retryDelayMs', 'must be a non-negative integer');
  }
  return { maxInFlight, retryDelayMs, onError: options.onError };
}

/**
 * Runs handlers with at most maxInFlight at once, shared by both adapters so they
 * treat a throwing handler (nak after retryDelayMs), a long one and shutdown the same way.
 * A slot is held until the handler returns and its settle call is confirmed.
 */
export class Dispatcher {
  private readonly running = new Set<Promise<void>>();
  private wakers: (() => void)[] = [];

  constructor(
    private readonly handler: MessageHandler,
    private readonly options: DispatchOptions,
    /** The consumer's: a handler still running after half of it tells the server so (see execute). */
    private readonly ackWaitMs: number,
    private readonly slotFreed: () => void = () => undefined,
  ) {}

  get free(): number {
    return this.options.maxInFlight - this.running.size;
  }

  /** The caller has checked that a slot is free. */
  run(delivery: Delivery, settlement: Settlement): void {
    // execute reports its failures to onError; one left (onError itself threw) must not go unhandled, which
    // ends the process (both sites, in the embedded default). The message comes again after ackWait.
    const task = this.execute(new SettleOnceMessage(delivery, settlement))
      .catch(() => undefined)
      .finally(() => {
        this.running.delete(task);
        this.wake();
        this.slotFreed();
      });
    this.running.add(task);
  }

  /** Resolves when a slot is free, or when wake() is called for shutdown. */
  whenFree(): Promise<void> {
    if (this.free > 0) return Promise.resolve();
    return new Promise((resolve) => this.wakers.push(resolve));
  }

  wake(): void {
    const wakers = this.wakers;
    this.wakers = [];
    wakers.forEach((w) => w());
  }

  /** Waits for running handlers, at most graceMs; true when they all finished. */
  drain(graceMs: number): Promise<boolean> {
    return settleWithin([...this.running], graceMs);
  }

  private async execute(message: SettleOnceMessage): Promise<void> {
    // Handlers never run inside the adapter's delivery loop, which may hold its own state mid-update.
    await Promise.resolve();
    // A handler may outlast ackWait (a regeneration waiting on slow entropy servers). Without this the
    // server would hand the message to a second handler meanwhile, and the two would race: for a block, the
    // second read of its samples is refused and its refusal could win. A handler that returns without
    // settling still gets its message again after ackWait.
    const every = Math.max(1, Math.floor(this.ackWaitMs / 2));
    let beats = 0;
    const heartbeat = setInterval(() => {
      // A handler hung for good must not hold its message for good: after MAX_WORKING_ACK_WAITS the server
      // takes it back after one more ackWait, as before.
      beats += 1;
      if (beats > 2 * MAX_WORKING_ACK_WAITS) clearInterval(heartbeat);
      else message.working();
    }, every);
    // Nor may it keep the process alive once shutdown has given up on it.
    heartbeat.unref();
    try {
      await this.handler(message);
    } catch (error) {
      this.options.onError?.(error);
      if (!message.settling) {
        await message.nak(this.options.retryDelayMs).catch((e) => this.options.onError?.(e));
      }
    } finally {
      clearInterval(heartbeat);
    }
    await message.settling?.catch((e) => this.options.onError?.(e));
  }
}

/** Waits for the promises, at most ms; true when they all settled. */
export async function settleWithin(promises: Promise<unknown>[], ms: number): Promise<boolean> {
  if (promises.length === 0) return true;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  const settled = Promise.allSettled(promises).then(() => true);
  const result = await Promise.race([settled, timeout]);
  clearTimeout(timer);
  return result;
}
