import {
  parseProtocolSubject,
  SENT_AT_HEADER,
  type Bus,
  type ConsumerSpec,
  type BusMessage,
  type ProtocolKind,
  type Subscription,
} from '@dqkd/messaging';
import type { Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';

import type { ReplicationMetrics } from '../replication-metrics';
import type { Acknowledgements } from './acknowledgements';
import type { Assignments } from './assignments';
import type { ClockSkew } from './clock-skew';
import type { Regeneration, Settlement } from './regeneration';

export interface InboundHandlers {
  readonly regeneration: Regeneration;
  readonly acknowledgements: Acknowledgements;
  readonly assignments: Assignments;
}

/** Handlers running at once: regeneration waits on entropy servers, so several overlap. */
const IN_FLIGHT = 8;
/** A message whose handler failed (entropy server or database out of reach) comes again after this. */
const RETRY_DELAY_MS = 2000;
/**
 * Regenerations at once. The handlers left keep assignments and acknowledgements moving while regenerations
 * wait on entropy servers that do not answer (each try then takes the client's timeout): metadata beyond this
 * comes again after RETRY_DELAY_MS instead of taking the last handlers.
 */
const MAX_REGENERATING = IN_FLIGHT - 2;

/**
 * Ledger connections of a replication process: a regeneration holds one for its lock (Ledger.exclusively)
 * and takes another for its queries, each other handler one, and the outbox relay one: regenerations waiting
 * on entropy servers never keep the other handlers waiting for a connection.
 */
export const REPLICATION_POOL_SIZE = 2 * MAX_REGENERATING + (IN_FLIGHT - MAX_REGENERATING) + 1;

/**
 * Applies what the peers sent this site, from the durable consumer of this site's IN stream. A message is
 * settled only after its effect is committed, so a crash at any point means a redelivery, never a loss; the
 * ledger's inbox makes the redelivery a no-op.
 */
export class InboundService implements OnApplicationBootstrap, OnModuleDestroy {
  private subscription: Subscription | undefined;
  private regenerating = 0;

  constructor(
    private readonly bus: Bus,
    private readonly consumer: ConsumerSpec,
    private readonly self: string,
    private readonly peers: readonly string[],
    private readonly prefix: string | undefined,
    private readonly handlers: InboundHandlers,
    private readonly metrics: ReplicationMetrics,
    private readonly skew: ClockSkew,
    private readonly logger: Logger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.subscription = await this.bus.consume(this.consumer, (message) => this.apply(message), {
      maxInFlight: IN_FLIGHT,
      retryDelayMs: RETRY_DELAY_MS,
      onError: (error) =>
        this.logger.warn(
          `${error instanceof Error ? error.message : String(error)}; the message comes again`,
        ),
    });
    this.logger.log(`replication of ${this.self} applies what ${this.peers.join(', ')} send it`);
  }

  async onModuleDestroy(): Promise<void> {
    await this.subscription?.close();
    this.subscription = undefined;
    this.handlers.assignments.release();
  }

  private async apply(message: BusMessage): Promise<void> {
    const settlement = await this.settlementOf(message);
    if (settlement === 'later') await message.nak(RETRY_DELAY_MS);
    else await (settlement === 'term' ? message.term() : message.ack());
  }

  private async regenerate(message: BusMessage, peer: string): Promise<Settlement | 'later'> {
    if (this.regenerating >= MAX_REGENERATING) return 'later';
    this.regenerating += 1;
    try {
      return await this.handlers.regeneration.handle(message, peer);
    } finally {
      this.regenerating -= 1;
    }
  }

  /**
   * A first delivery's send time for the clock skew to this peer, only once it changed the ledger: the header
   * is not signed, and anyone who can publish on the IN subjects could otherwise fake a skew alarm, or hide a
   * real drift, with messages that are then refused, or with copies of valid ones (acknowledged as duplicates).
   */
  private measureSkew(message: BusMessage, peer: string, receivedAt: number): void {
    if (message.redelivered) return;
    const sentAt = Number(message.headers[SENT_AT_HEADER]);
    if (Number.isSafeInteger(sentAt) && sentAt > 0) this.skew.record(peer, sentAt, receivedAt);
  }

  private settlementOf(message: BusMessage): Promise<Settlement | 'later'> {
    const subject = parseProtocolSubject(message.subject, { prefix: this.prefix });
    if (!subject || !this.peers.includes(subject.source) || subject.target !== this.self) {
      this.logger.error(`refused a message on ${message.subject}, which is not from a peer to ${this.self}`);
      this.metrics.refused.inc({ kind: 'unknown' });
      return Promise.resolve('term');
    }
    const peer = subject.source;
    if (message.redelivered) this.metrics.redelivered.inc({ kind: subject.kind });
    // As it arrived: handling (a block's regeneration, say) takes seconds that are no part of the offset.
    const receivedAt = Date.now();
    return this.handle(message, peer, subject.kind).then((settlement) => {
      if (settlement === 'applied') this.measureSkew(message, peer, receivedAt);
      return settlement;
    });
  }

  private handle(message: BusMessage, peer: string, kind: ProtocolKind): Promise<Settlement | 'later'> {
    switch (kind) {
      case 'metadata':
        return this.regenerate(message, peer);
      case 'block-ack':
        return this.handlers.acknowledgements.handle(message, peer);
      case 'assignment':
        return this.handlers.assignments.handle(message, peer);
    }
  }
}
