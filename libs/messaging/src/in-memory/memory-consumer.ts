import type { Delivery, Settlement } from '../delivery';
import { subjectMatches } from '../subjects';
import type { ResolvedConsumer } from '../topology';
import type { MemoryStream, StoredMessage } from './memory-stream';

/** One subscription of a durable: how many messages it can take now, and where they go. */
export interface Holder {
  free(): number;
  deliver(delivery: Delivery, settlement: Settlement): void;
}

interface Pending {
  deliveries: number;
  /** Redeliverable now; otherwise held by a subscription or waiting out a nak delay. */
  ready: boolean;
  holder?: Holder;
  timer?: NodeJS.Timeout;
}

/**
 * A durable consumer's state, kept by the broker so that it outlives its subscriptions:
 * what was delivered, what awaits an ack and until when, and how often each was tried.
 */
export class MemoryConsumer {
  private cursor = 0;
  private readonly pending = new Map<number, Pending>();
  private holders: Holder[] = [];
  private turn = 0;
  private pumping = false;

  constructor(
    public spec: ResolvedConsumer,
    private readonly stream: MemoryStream,
    private readonly clock: () => number,
  ) {}

  attach(holder: Holder): void {
    this.holders.push(holder);
    this.pump();
  }

  detach(holder: Holder): void {
    this.holders = this.holders.filter((h) => h !== holder);
  }

  /** A subscription went away without settling: its messages go to the others now. */
  release(holder: Holder): void {
    for (const [sequence, p] of this.pending) if (p.holder === holder) this.expireHold(sequence);
  }

  /** The sequence up to which every message this consumer was to take is settled (or left it exhausted). */
  settledThrough(): number {
    let first = this.cursor + 1;
    for (const sequence of this.pending.keys()) first = Math.min(first, sequence);
    return first - 1;
  }

  stop(): void {
    this.pending.forEach((p) => clearTimeout(p.timer));
    this.holders = [];
  }

  /** Hands out messages while some subscription has room; each turn uses one slot. */
  pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (let holder = this.nextHolder(); holder; holder = this.nextHolder()) {
        const message = this.nextMessage();
        if (!message) return;
        this.deliver(message, holder);
      }
    } finally {
      this.pumping = false;
    }
  }

  private nextHolder(): Holder | undefined {
    for (let i = 0; i < this.holders.length; i++) {
      const holder = this.holders[(this.turn + i) % this.holders.length];
      if (holder.free() > 0) {
        this.turn = (this.turn + i + 1) % this.holders.length;
        return holder;
      }
    }
    return undefined;
  }

  /** Redeliveries first, lowest sequence first; new messages only under maxAckPending. */
  private nextMessage(): StoredMessage | undefined {
    const now = this.clock();
    const ready = [...this.pending].filter(([, p]) => p.ready).map(([s]) => s);
    for (const sequence of ready.sort((a, b) => a - b)) {
      const message = this.stream.get(sequence, now);
      if (message) return message;
      this.pending.delete(sequence);
    }
    if (this.pending.size >= this.spec.maxAckPending) return undefined;
    const filter = this.spec.filterSubject;
    const next = this.stream.next(this.cursor, (m) => !filter || subjectMatches(filter, m.subject), now);
    if (next) this.cursor = next.sequence;
    return next;
  }

  private deliver(message: StoredMessage, holder: Holder): void {
    const p = this.pending.get(message.sequence) ?? { deliveries: 0, ready: false };
    p.deliveries += 1;
    p.ready = false;
    p.holder = holder;
    p.timer = this.holdTimer(message.sequence);
    this.pending.set(message.sequence, p);
    const delivery: Delivery = {
      subject: message.subject,
      data: message.data.slice(),
      msgId: message.msgId,
      headers: { ...message.headers },
      streamSequence: message.sequence,
      deliveryCount: p.deliveries,
      redelivered: p.deliveries > 1,
    };
    holder.deliver(delivery, this.settlement(message.sequence, p.deliveries));
  }

  private settlement(sequence: number, delivery: number): Settlement {
    const current = () => {
      const p = this.pending.get(sequence);
      return p && !p.ready && p.deliveries === delivery ? p : undefined;
    };
    return {
      ack: async () => this.done(sequence),
      term: async () => this.done(sequence),
      nak: async (delayMs) => {
        const p = current();
        if (!p) return;
        clearTimeout(p.timer);
        p.holder = undefined;
        if (delayMs > 0) p.timer = this.later(delayMs, () => this.makeReady(sequence));
        else this.makeReady(sequence);
      },
      working: () => {
        const p = current();
        if (!p?.holder) return;
        clearTimeout(p.timer);
        p.timer = this.holdTimer(sequence);
      },
    };
  }

  /** Acked or terminated, by whichever delivery: never delivered again. */
  private done(sequence: number): void {
    const p = this.pending.get(sequence);
    if (!p) return;
    clearTimeout(p.timer);
    this.pending.delete(sequence);
    if (this.stream.spec.retention === 'workqueue') this.stream.remove(sequence);
    this.pump();
  }

  private expireHold(sequence: number): void {
    const p = this.pending.get(sequence);
    if (!p || p.ready || !p.holder) return;
    clearTimeout(p.timer);
    p.holder = undefined;
    this.makeReady(sequence);
  }

  private makeReady(sequence: number): void {
    const p = this.pending.get(sequence);
    if (!p) return;
    clearTimeout(p.timer);
    // Like JetStream, an exhausted message stays in the stream but leaves this consumer.
    if (p.deliveries >= this.spec.maxDeliver) this.pending.delete(sequence);
    else p.ready = true;
    this.pump();
  }

  /** Hands the message back for redelivery once ackWait has passed without a settle (or a sign of work). */
  private holdTimer(sequence: number): NodeJS.Timeout {
    return this.later(this.spec.ackWaitMs, () => this.expireHold(sequence));
  }

  private later(ms: number, run: () => void): NodeJS.Timeout {
    const timer = setTimeout(run, ms);
    // Redelivery timers alone must not keep a process alive.
    timer.unref();
    return timer;
  }
}
