import { EnvelopeError } from '@dqkd/blast';
import { rejectedBurnReason, type Ledger } from '@dqkd/ledger';
import { blockAckMessageId, openBlockAck, type BusMessage } from '@dqkd/messaging';
import type { Logger } from '@nestjs/common';

import type { ReplicationMetrics } from '../replication-metrics';
import { refuse } from './refuse';
import type { Settlement } from './regeneration';
import type { SiteKeys } from './site-keys';

/** The source's side: a block its target confirmed becomes `ready`; one it rejected is burned. */
export class Acknowledgements {
  constructor(
    private readonly ledger: Ledger,
    private readonly keys: SiteKeys,
    private readonly metrics: ReplicationMetrics,
    private readonly logger: Logger,
  ) {}

  async handle(message: BusMessage, peer: string): Promise<Settlement> {
    let opened: ReturnType<typeof openBlockAck>;
    try {
      opened = openBlockAck(message.data, this.keys.openOptions());
    } catch (error) {
      if (!(error instanceof EnvelopeError)) throw error;
      return refuse(
        this.metrics,
        this.logger,
        'block-ack',
        `refused block acknowledgement on ${message.subject}: ${error.code}: ${error.message}`,
      );
    }
    const { ack, from } = opened;
    if (from !== peer) {
      return refuse(
        this.metrics,
        this.logger,
        'block-ack',
        `refused acknowledgement signed by ${from} arriving from ${peer}`,
      );
    }
    // Only the target of a block's own link may settle it. Checked before the inbox records the message, so an
    // acknowledgement refused here leaves no trace (a block's link and role never change).
    const block = await this.ledger.blocks.find(ack.blockId);
    const link = await this.ledger.links.find(this.keys.self, peer);
    if (!block || block.role !== 'source' || !link || block.linkId !== link.id) {
      this.logger.warn(`acknowledgement of ${peer} for block ${ack.blockId}, which is not ours to ${peer}`);
      return 'ack';
    }
    let burned = false;
    const { processed } = await this.ledger.processOnce(
      blockAckMessageId(ack.blockId),
      message.subject,
      async (scope) => {
        if (ack.outcome === 'ready') {
          if (!(await scope.blocks.markReady(ack.blockId))) {
            this.logger.warn(
              `block ${ack.blockId} confirmed by ${peer} after it stopped pending (${block.state})`,
            );
          }
        } else {
          burned = await scope.blocks.burn(ack.blockId, rejectedBurnReason(peer, ack.reason));
        }
      },
    );
    // Told and counted once committed, and only when this burned the block (not burned before, as unconfirmed);
    // a redelivery finds the acknowledgement processed and burns nothing.
    if (burned && ack.outcome === 'rejected') {
      this.logger.warn(`block ${ack.blockId} burned: ${peer} rejected it (${ack.reason})`);
      this.metrics.burned.inc({ reason: ack.reason });
    } else if (processed && ack.outcome === 'rejected') {
      this.logger.log(
        `block ${ack.blockId}, already burned here, was rejected by ${peer} too (${ack.reason})`,
      );
    }
    return processed ? 'applied' : 'ack';
  }
}
