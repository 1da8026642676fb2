import type { ResolvedStream } from '../topology';

export interface StoredMessage {
  readonly sequence: number;
  readonly subject: string;
  readonly data: Uint8Array;
  readonly msgId: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly storedAt: number;
}

/** One stream's messages in sequence order, with its msgId window and max age. */
export class MemoryStream {
  private messages: StoredMessage[] = [];
  private readonly recentIds = new Map<string, { sequence: number; at: number }>();
  private lastSequence = 0;

  constructor(public spec: ResolvedStream) {}

  store(
    message: Omit<StoredMessage, 'sequence' | 'storedAt'>,
    now: number,
  ): { sequence: number; duplicate: boolean } {
    this.expire(now);
    const seen = this.recentIds.get(message.msgId);
    if (seen) return { sequence: seen.sequence, duplicate: true };
    const sequence = ++this.lastSequence;
    this.messages.push({ ...message, sequence, storedAt: now });
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
    if (this.messages[i]?.sequence === sequence) this.messages.splice(i, 1);
  }

  private expire(now: number): void {
    const firstKept = this.messages.findIndex((m) => now - m.storedAt < this.spec.maxAgeMs);
    if (firstKept !== 0) this.messages = firstKept === -1 ? [] : this.messages.slice(firstKept);
    // Insertion order is time order, so the oldest ids come first.
    for (const [id, { at }] of this.recentIds) {
      if (now - at < this.spec.duplicateWindowMs) break;
      this.recentIds.delete(id);
    }
  }

  /** Index of the first message whose sequence is greater than `sequence`. */
  private indexAfter(sequence: number): number {
    let lo = 0;
    let hi = this.messages.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.messages[mid].sequence <= sequence) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
