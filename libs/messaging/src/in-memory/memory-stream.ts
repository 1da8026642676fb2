import type { ResolvedStream } from '../topology';

export interface StoredMessage {
  readonly sequence: number;
  readonly subject: string;
  readonly data: Uint8Array;
  readonly msgId: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly storedAt: number;
}

/** Dropped messages at the front of the array that are copied away once they are this many and half of it. */
const COMPACT_AFTER = 1024;

/** One stream's messages in sequence order, with its msgId window and max age. */
export class MemoryStream {
  private messages: StoredMessage[] = [];
  /**
   * Index of the first message still held: the oldest go by moving it, not by copying the array (under
   * load a stream holds hours of messages, and some age out at every call).
   */
  private head = 0;
  private heldBytes = 0;
  private readonly recentIds = new Map<string, { sequence: number; at: number }>();
  private lastSequence = 0;

  constructor(public spec: ResolvedStream) {}

  /** Payload bytes of the messages held. */
  get bytes(): number {
    return this.heldBytes;
  }

  /** Messages held. */
  get size(): number {
    return this.messages.length - this.head;
  }

  /** The sequence of the last message stored (0 before the first), held or not. */
  get last(): number {
    return this.lastSequence;
  }

  store(
    message: Omit<StoredMessage, 'sequence' | 'storedAt'>,
    now: number,
  ): { sequence: number; duplicate: boolean } {
    this.expire(now);
    const seen = this.recentIds.get(message.msgId);
    if (seen) return { sequence: seen.sequence, duplicate: true };
    const sequence = ++this.lastSequence;
    this.messages.push({ ...message, sequence, storedAt: now });
    this.heldBytes += message.data.byteLength;
    this.recentIds.set(message.msgId, { sequence, at: now });
    return { sequence, duplicate: false };
  }

  get(sequence: number, now: number): StoredMessage | undefined {
    this.expire(now);
    const i = this.indexAfter(sequence - 1);
    return this.messages[i]?.sequence === sequence ? this.messages[i] : undefined;
  }

  /** The first message after `sequence` that the predicate accepts. */
  next(sequence: number, accept: (m: StoredMessage) => boolean, now: number): StoredMessage | undefined {
    this.expire(now);
    for (let i = this.indexAfter(sequence); i < this.messages.length; i++) {
      if (accept(this.messages[i])) return this.messages[i];
    }
    return undefined;
  }

  remove(sequence: number): void {
    const i = this.indexAfter(sequence - 1);
    if (this.messages[i]?.sequence !== sequence) return;
    this.heldBytes -= this.messages[i].data.byteLength;
    this.messages.splice(i, 1);
  }

  /** Drops the oldest messages, up to and including `sequence`, while the stream holds over `bytes`. */
  dropOldest(sequence: number, bytes: number): void {
    while (this.heldBytes > bytes && this.head < this.messages.length) {
      if (this.messages[this.head].sequence > sequence) break;
      this.dropHead();
    }
    this.compact();
  }

  private expire(now: number): void {
    while (
      this.head < this.messages.length &&
      now - this.messages[this.head].storedAt >= this.spec.maxAgeMs
    ) {
      this.dropHead();
    }
    this.compact();
    // Insertion order is time order, so the oldest ids come first.
    for (const [id, { at }] of this.recentIds) {
      if (now - at < this.spec.duplicateWindowMs) break;
      this.recentIds.delete(id);
    }
  }

  private dropHead(): void {
    this.heldBytes -= this.messages[this.head].data.byteLength;
    // Released now, not at the next compaction: the array slot would keep the payload alive.
    (this.messages as (StoredMessage | undefined)[])[this.head] = undefined;
    this.head += 1;
  }

  private compact(): void {
    if (this.head < COMPACT_AFTER || this.head * 2 < this.messages.length) return;
    this.messages = this.messages.slice(this.head);
    this.head = 0;
  }

  /** Index of the first message whose sequence is greater than `sequence`. */
  private indexAfter(sequence: number): number {
    let lo = this.head;
    let hi = this.messages.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.messages[mid].sequence <= sequence) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
