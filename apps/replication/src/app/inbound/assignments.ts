import { EnvelopeError } from '@dqkd/blast';
import { MAX_TTL_SECONDS } from '@dqkd/etsi014';
import { applyAssignment, LedgerConflictError, type HeldReservations, type Ledger } from '@dqkd/ledger';
import {
  assignmentMessageId,
  AssignmentMalformed,
  beyondLongest,
  openAssignment,
  type BusMessage,
} from '@dqkd/messaging';
import type { Logger } from '@nestjs/common';

import type { ReplicationMetrics } from '../replication-metrics';
import { observeLag } from './lag';
import { refuse } from './refuse';
import type { Settlement } from './regeneration';
import type { SiteKeys } from './site-keys';

/** The target's side of enc_keys: the keys of a reservation become fetchable by their slaves here. */
export class Assignments {
  /**
   * `held`: the bits of reservations whose later assignments are still to come, so each of those is one
   * statement.
   */
  constructor(
    private readonly ledger: Ledger,
    private readonly keys: SiteKeys,
    private readonly held: HeldReservations,
    private readonly metrics: ReplicationMetrics,
    private readonly logger: Logger,
  ) {}

  async handle(message: BusMessage, peer: string): Promise<Settlement> {
    let opened: ReturnType<typeof openAssignment>;
    try {
      opened = openAssignment(message.data, {
        ...this.keys.openOptions(),
        decapsulations: this.keys.assignmentDecapsulations,
      });
    } catch (error) {
      if (!(error instanceof EnvelopeError) && !(error instanceof AssignmentMalformed)) throw error;
      return refuse(
        this.metrics,
        this.logger,
        'assignment',
        `refused assignment on ${message.subject}: ${error.message}`,
      );
    }
    const { assignment } = opened;
    const { reservation } = assignment;
    if (reservation.linkSource !== peer || reservation.linkTarget !== this.keys.self) {
      return refuse(
        this.metrics,
        this.logger,
        'assignment',
        `refused assignment of link ${reservation.linkSource} → ${reservation.linkTarget} from ${peer}`,
      );
    }
    if (beyondLongest(assignment.expiresAt.getTime(), MAX_TTL_SECONDS * 1000)) {
      // The keys would outlive the longest TTL here (and their bits the blocks they came from).
      return refuse(
        this.metrics,
        this.logger,
        'assignment',
        `ALARM assignment ${reservation.id} from ${peer}: its deadline ` +
          `${assignment.expiresAt.toISOString()} lies beyond the longest TTL`,
      );
    }
    try {
      // No transaction around it: the keys and the message's inbox entry go in one statement.
      const claim = { messageId: assignmentMessageId(assignment), subject: message.subject };
      const result = await applyAssignment(this.ledger, assignment, claim, this.held);
      if (!result.applied) return 'ack';
      this.metrics.assignments.inc();
      observeLag(this.metrics.lag, 'assignment', assignment.issuedAt);
      return 'applied';
    } catch (error) {
      if (!(error instanceof LedgerConflictError)) throw error;
      return refuse(
        this.metrics,
        this.logger,
        'assignment',
        `ALARM assignment ${reservation.id} from ${peer} cannot apply here: ${error.message}`,
      );
    }
  }

  /** Zeroes the reservation bits held, once no assignment can arrive any more. */
  release(): void {
    this.held.clear();
  }
}
