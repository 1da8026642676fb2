import type { Bus } from '../bus';

/** A pending outbox row, as the ledger's Outbox answers it (structurally, so messaging needs no ledger). */
export interface RelayedMessage {
  readonly id: string;
  readonly subject: string;
  readonly msgId: string;
  readonly payload: Uint8Array;
}

export interface RelayOutbox {
  /** The oldest rows not yet published, after the row `after` when given (in the outbox's order). */
  pending(limit: number, after?: string): Promise<readonly RelayedMessage[]>;
  markPublished(ids: readonly string[]): Promise<number>;
}

export interface OutboxRelayOptions {
  /** How often the outbox is polled when nobody kicks the relay (ms). */
  readonly intervalMs?: number;
  /** Rows published per round; their publishes are pipelined. */
  readonly batchSize?: number;
  /** Told about failed rounds; the rows stay pending and the next round retries them. */
  readonly onError?: (error: unknown) => void;
}

const DEFAULT_INTERVAL_MS = 1000;

/**
 * The relay's clock (UTC ms) when it published a message, for the receiver's clock-skew estimate. Only a
 * measurement: nothing trusts it, since it is outside the signed envelope.
 */
export const SENT_AT_HEADER = 'Dqkd-Sent-At';
const DEFAULT_BATCH_SIZE = 64;

/**
 * Publishes outbox rows through the bus with their msgId and marks them published. Rows are written in the
 * same transaction as the ledger change they announce, so a crash anywhere loses nothing: an unmarked row is
 * published again, and the stream's duplicate window (and the receiver's inbox) drop the repeat. Several
 * replicas may relay one outbox for the same reason.
 */
export class OutboxRelay {
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<number> | undefined;
  private again = false;
  private stopped = false;
  private readonly intervalMs: number;
  private readonly batchSize: number;

  constructor(
    private readonly outbox: RelayOutbox,
    private readonly bus: Bus,
    private readonly options: OutboxRelayOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? DEFAULT_INTERVAL_MS;
    this.batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  }

  start(): void {
    this.stopped = false;
    this.timer ??= setInterval(() => this.kick(), this.intervalMs);
    this.timer.unref();
    this.kick();
  }

  /** Publishes soon, e.g. right after a commit that appended to the outbox. */
  kick(): void {
    if (this.stopped) return;
    if (this.round) {
      this.again = true;
      return;
    }
    void this.flush().catch((error: unknown) => this.options.onError?.(error));
  }

  /** Publishes everything pending now; answers how many rows this call marked published. */
  flush(): Promise<number> {
    this.round ??= this.drain().finally(() => {
      this.round = undefined;
      if (this.again) {
        this.again = false;
        this.kick();
      }
    });
    return this.round;
  }

  /** Stops polling and waits for the round in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.round?.catch(() => undefined);
  }

  /**
   * One pass over the pending rows, oldest first. A row whose publish fails stays pending for the next round,
   * and the pass goes on past it: one that can never be published (its subject in no stream) must not hold
   * up the others. The first failure is thrown once the pass is done.
   */
  private async drain(): Promise<number> {
    let marked = 0;
    let after: string | undefined;
    let failed: { readonly error: unknown } | undefined;
    for (;;) {
      const batch = await this.outbox.pending(this.batchSize, after);
      if (batch.length === 0) break;
      const headers = { [SENT_AT_HEADER]: String(Date.now()) };
      const results = await Promise.allSettled(
        batch.map((m) => this.bus.publish(m.subject, m.payload, { msgId: m.msgId, headers })),
      );
      const rejected = results.find((result) => result.status === 'rejected');
      failed ??= rejected && { error: rejected.reason };
      marked += await this.outbox.markPublished(
        batch.filter((_, i) => results[i]!.status === 'fulfilled').map((m) => m.id),
      );
      after = batch[batch.length - 1]!.id;
      if (batch.length < this.batchSize || this.stopped) break;
    }
    if (failed) throw failed.error;
    return marked;
  }
}
