import type { Consumer, ConsumerMessages, JsMsg } from '@nats-io/jetstream';

import { DEFAULT_GRACE_MS, type CloseOptions, type MessageHandler, type Subscription } from '../bus';
import { Dispatcher, type Delivery, type DispatchOptions, type Settlement } from '../delivery';

const MAX_RETRY_PAUSE_MS = 5000;

/** What the subscription asks of the bus' Recovery when a pull comes back without messages. */
export interface PullRecovery {
  /** Puts the consumer back if the failed pull was the server telling that it (or its stream) is gone. */
  afterFailedPull(): Promise<void>;
  /** Makes the stream again if it counts messages for the consumer that its store no longer holds. */
  afterEmptyPull(): Promise<void>;
}

/**
 * Pulls exactly as many messages as there are free handler slots, so nothing waits in
 * a client buffer while its ackWait runs out on the server.
 */
export class PullSubscription implements Subscription {
  private stopping = false;
  private batch: ConsumerMessages | undefined;
  private pauseTimer: { timer: NodeJS.Timeout; resolve: () => void } | undefined;
  private readonly dispatcher: Dispatcher;
  private readonly loop: Promise<void>;
  private readonly onError: ((error: unknown) => void) | undefined;

  constructor(
    private readonly consumer: Consumer,
    handler: MessageHandler,
    options: DispatchOptions,
    ackWaitMs: number,
    private readonly pullExpiresMs: number,
    private readonly settlement: (m: JsMsg) => Settlement,
    private readonly recovery: PullRecovery,
  ) {
    this.onError = options.onError;
    this.dispatcher = new Dispatcher(handler, options, ackWaitMs);
    this.loop = this.run();
  }

  async close(options?: CloseOptions): Promise<void> {
    if (this.stopping) return this.loop;
    this.stopping = true;
    this.dispatcher.wake();
    this.resume();
    await this.batch?.close();
    await this.loop;
    await this.dispatcher.drain(options?.graceMs ?? DEFAULT_GRACE_MS);
  }

  private async run(): Promise<void> {
    for (let failures = 0; !this.stopping;) {
      await this.dispatcher.whenFree();
      if (this.stopping) return;
      try {
        this.batch = await this.consumer.fetch({
          max_messages: this.dispatcher.free,
          expires: this.pullExpiresMs,
        });
        // close() may have run while the pull was being set up, before there was a batch to close. Not awaited:
        // the client's close settles once the batch has been read, which is this loop's work below.
        if (this.stopping) void this.batch.close().catch(() => undefined);
        let received = 0;
        for await (const m of this.batch) {
          received += 1;
          // Arrived while closing, or beyond the free slots (after a reconnect the client pulls a whole batch
          // again on top of what came): hand it straight back rather than run more handlers than allowed.
          if (this.stopping || this.dispatcher.free <= 0) m.nak();
          else this.dispatcher.run(delivery(m), this.settlement(m));
        }
        failures = 0;
        if (received === 0 && !this.stopping) await this.recovery.afterEmptyPull();
      } catch (error) {
        // Disconnects and missed heartbeats end a pull; the next one resumes after a backoff. A deleted
        // consumer or stream ends every pull until afterFailedPull() has provisioned it again.
        this.report(error);
        // Not while closing: a pull ended by close() is no sign of a lost consumer, and must not delay it.
        if (!this.stopping) await this.recovery.afterFailedPull();
        // close() may have come while afterFailedPull() ran: it cuts short only a pause already begun.
        if (this.stopping) return;
        failures += 1;
        await this.pause(Math.min(100 * 2 ** failures, MAX_RETRY_PAUSE_MS));
      } finally {
        this.batch = undefined;
      }
    }
  }

  /**
   * An onError that throws must not end this loop, whose promise nobody awaits until close(): its rejection
   * would go unhandled and end the process, and the consumer would stop pulling meanwhile.
   */
  private report(error: unknown): void {
    try {
      this.onError?.(error);
    } catch {
      // Nothing else to tell it to.
    }
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.pauseTimer = { timer: setTimeout(resolve, ms), resolve };
    });
  }

  private resume(): void {
    if (!this.pauseTimer) return;
    clearTimeout(this.pauseTimer.timer);
    this.pauseTimer.resolve();
  }
}

function delivery(m: JsMsg): Delivery {
  const headers: Record<string, string> = {};
  for (const key of m.headers?.keys() ?? []) {
    // Nats-* headers are the server's bookkeeping; the in-memory adapter has none.
    if (!key.toLowerCase().startsWith('nats-')) headers[key] = m.headers?.get(key) ?? '';
  }
  return {
    subject: m.subject,
    data: m.data,
    msgId: m.headers?.get('Nats-Msg-Id') ?? '',
    headers,
    streamSequence: m.seq,
    deliveryCount: m.info.deliveryCount,
    redelivered: m.redelivered,
  };
}
