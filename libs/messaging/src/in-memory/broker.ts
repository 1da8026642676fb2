import type { PublishReceipt } from '../bus';
import { BusProvisionError, NoStreamError } from '../errors';
import { subjectMatches, subjectsOverlap } from '../subjects';
import { assertWorkQueueConsumer, type ResolvedConsumer, type ResolvedStream } from '../topology';
import { MemoryConsumer } from './memory-consumer';
import { MemoryStream, type StoredMessage } from './memory-stream';

/**
 * Bytes a stream holds before it drops messages that every consumer and sourcing stream is done with, by
 * default: a few minutes of the load benchmark's traffic, where two hours of it (the streams' max age) would
 * fill the heap.
 */
const KEEP_FINISHED_BYTES = 64 * 1024 * 1024;

export interface InMemoryBrokerOptions {
  readonly clock?: () => number;
  /** See KEEP_FINISHED_BYTES. */
  readonly keepFinishedBytes?: number;
}

/** What a stream holds, as JetStream's stream info reports it. */
export interface MemoryStreamState {
  readonly messages: number;
  readonly bytes: number;
  readonly lastSequence: number;
}

/**
 * The in-process stand-in for a NATS server: streams, durable consumer state and
 * request routing, shared by every InMemoryBus connected to it. Nothing survives the
 * process; that is the embedded default's trade-off. Unlike JetStream, which keeps
 * what it stores on disk, a stream over its memory budget drops the oldest messages
 * that every reader present is done with: a consumer or sourcing stream provisioned
 * later would not find them.
 */
export class InMemoryBroker {
  private readonly streams = new Map<string, MemoryStream>();
  private readonly consumers = new Map<string, MemoryConsumer>();
  /** Per sourcing stream and origin, the last origin sequence copied: `<stream>/<origin>` → sequence. */
  private readonly sourced = new Map<string, number>();
  private readonly clock: () => number;
  private readonly keepFinishedBytes: number;

  constructor(options: InMemoryBrokerOptions = {}) {
    this.clock = options.clock ?? Date.now;
    this.keepFinishedBytes = options.keepFinishedBytes ?? KEEP_FINISHED_BYTES;
  }

  /** What the stream `name` holds; undefined when there is no such stream. */
  streamState(name: string): MemoryStreamState | undefined {
    const stream = this.streams.get(name);
    if (stream === undefined) return undefined;
    return { messages: stream.size, bytes: stream.bytes, lastSequence: stream.last };
  }

  provisionStream(spec: ResolvedStream): void {
    const existing = this.streams.get(spec.name);
    if (existing && existing.spec.retention !== spec.retention) {
      throw new BusProvisionError(`stream ${spec.name}`, { cause: new Error('retention cannot change') });
    }
    for (const other of this.streams.values()) {
      if (other.spec.name === spec.name) continue;
      if (spec.subjects.some((s) => other.spec.subjects.some((o) => subjectsOverlap(s, o)))) {
        throw new BusProvisionError(`stream ${spec.name}`, {
          cause: new Error(`subjects overlap ${other.spec.name}`),
        });
      }
    }
    if (existing) existing.spec = spec;
    else this.streams.set(spec.name, new MemoryStream(spec));
    this.copySources();
  }

  provisionConsumer(spec: ResolvedConsumer): MemoryConsumer {
    const stream = this.streams.get(spec.stream);
    if (!stream) {
      throw new BusProvisionError(`consumer ${spec.stream}/${spec.durable}`, {
        cause: new Error('no stream'),
      });
    }
    if (stream.spec.retention === 'workqueue') {
      const others = [...this.consumers.values()]
        .filter((c) => c.spec.stream === spec.stream)
        .map((c) => c.spec);
      try {
        assertWorkQueueConsumer(stream.spec, spec, others);
      } catch (cause) {
        throw new BusProvisionError(`consumer ${spec.stream}/${spec.durable}`, { cause });
      }
    }
    const key = `${spec.stream}/${spec.durable}`;
    const existing = this.consumers.get(key);
    if (existing) {
      existing.spec = spec;
      return existing;
    }
    const consumer = new MemoryConsumer(spec, stream, this.clock);
    this.consumers.set(key, consumer);
    return consumer;
  }

  store(message: Omit<StoredMessage, 'sequence' | 'storedAt'>): PublishReceipt {
    const stream = [...this.streams.values()].find((s) =>
      s.spec.subjects.some((f) => subjectMatches(f, message.subject)),
    );
    if (!stream) throw new NoStreamError(message.subject);
    const receipt = this.storeIn(stream, message);
    if (!receipt.duplicate) {
      this.copySources();
      this.streams.forEach((each) => this.dropFinished(each));
    }
    return receipt;
  }

  /**
   * Drops, while the stream is over its budget, the oldest messages that every consumer has settled and
   * every sourcing stream has copied. A stream nobody reads yet keeps everything, as JetStream would.
   */
  private dropFinished(stream: MemoryStream): void {
    if (stream.bytes <= this.keepFinishedBytes) return;
    const done: number[] = [];
    for (const consumer of this.consumers.values()) {
      if (consumer.spec.stream === stream.spec.name) done.push(consumer.settledThrough());
    }
    for (const sourcing of this.streams.values()) {
      if (sourcing.spec.sources.some((source) => source.name === stream.spec.name)) {
        done.push(this.sourced.get(`${sourcing.spec.name}/${stream.spec.name}`) ?? 0);
      }
    }
    if (done.length > 0) stream.dropOldest(Math.min(...done), this.keepFinishedBytes);
  }

  private storeIn(
    stream: MemoryStream,
    message: Omit<StoredMessage, 'sequence' | 'storedAt'>,
  ): PublishReceipt {
    const { sequence, duplicate } = stream.store(message, this.clock());
    if (!duplicate) {
      for (const c of this.consumers.values()) if (c.spec.stream === stream.spec.name) c.pump();
    }
    return { stream: stream.spec.name, sequence, duplicate };
  }

  /**
   * Copies what origins hold beyond each sourcing stream's cursor, as JetStream's stream sources do; runs
   * to a fixed point so that chains of sources (a stream sourcing a sourcing stream) settle too.
   */
  private copySources(): void {
    for (let copied = true; copied;) {
      copied = false;
      for (const stream of this.streams.values()) {
        for (const source of stream.spec.sources) {
          const origin = this.streams.get(source.name);
          if (!origin) continue;
          const cursor = `${stream.spec.name}/${source.name}`;
          const accept = (m: StoredMessage) =>
            source.filterSubject === undefined || subjectMatches(source.filterSubject, m.subject);
          for (
            let m = origin.next(this.sourced.get(cursor) ?? 0, accept, this.clock());
            m !== undefined;
            m = origin.next(m.sequence, accept, this.clock())
          ) {
            this.sourced.set(cursor, m.sequence);
            const { subject, data, msgId, headers } = m;
            if (!this.storeIn(stream, { subject, data, msgId, headers }).duplicate) copied = true;
          }
          // Past what the filter skipped as well, so that the next copy does not look at it again.
          this.sourced.set(cursor, origin.last);
        }
      }
    }
  }

  close(): void {
    this.consumers.forEach((c) => c.stop());
    this.consumers.clear();
    this.streams.clear();
    this.sourced.clear();
  }
}
