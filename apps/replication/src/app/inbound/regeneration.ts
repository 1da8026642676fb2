import { EnvelopeError, openMetadata, regenerateBlock, type BlockMetadata } from '@dqkd/blast';
import type { KmeEntropySources } from '@dqkd/entropy';
import type { Ledger } from '@dqkd/ledger';
import {
  blockAckMessage,
  metadataMessageId,
  sealBlockAck,
  type BlockAck,
  type BusMessage,
  type OutboxRelay,
} from '@dqkd/messaging';
import type { Logger } from '@nestjs/common';

import type { ReplicationMetrics } from '../replication-metrics';
import { observeLag } from './lag';
import { refuse } from './refuse';
import { regenerationRefusal, type Refusal } from './refusal';
import type { SiteKeys } from './site-keys';

/** A regeneration's outcome: the block's material, or the refusal the acknowledgement carries and why. */
type Regenerated =
  | { readonly material: Buffer; readonly refusal?: undefined }
  | { readonly material?: undefined; readonly refusal: Refusal; readonly why: string };

/** What to tell the bus once a message is handled: done, or never again. Throwing means "try again later". */
export type Settlement = 'ack' | 'term';

/**
 * The target's side of a block: open the sealed metadata, regenerate the block from the entropy servers,
 * store it `ready` together with the acknowledgement in the outbox, and only then settle the message.
 */
export class Regeneration {
  constructor(
    private readonly ledger: Ledger,
    private readonly keys: SiteKeys,
    private readonly entropy: KmeEntropySources,
    private readonly relay: OutboxRelay,
    private readonly metrics: ReplicationMetrics,
    private readonly prefix: string | undefined,
    private readonly logger: Logger,
  ) {}

  async handle(message: BusMessage, peer: string): Promise<Settlement> {
    let opened: ReturnType<typeof openMetadata>;
    try {
      opened = openMetadata(message.data, this.keys.openOptions());
    } catch (error) {
      if (!(error instanceof EnvelopeError)) throw error;
      return refuse(
        this.metrics,
        this.logger,
        'metadata',
        `refused metadata on ${message.subject}: ${error.code}: ${error.message}`,
      );
    }
    const { metadata } = opened;
    if (metadata.source !== peer) {
      return refuse(
        this.metrics,
        this.logger,
        'metadata',
        `refused metadata of ${metadata.source} arriving from ${peer} (block ${metadata.blockId})`,
      );
    }
    const messageId = metadataMessageId(metadata.blockId);
    // A redelivery: the block and its acknowledgement were committed together the first time.
    if (await this.ledger.inbox.has(messageId)) return 'ack';

    const regenerated = await this.regenerate(metadata);
    const { material, refusal } = regenerated;
    if (refusal !== undefined) {
      const line = `block ${metadata.blockId} from ${peer} rejected (${refusal.reason}): ${regenerated.why}`;
      if (refusal.alarm) this.logger.error(`ALARM ${line}`);
      else this.logger.warn(line);
    }
    const ack: BlockAck = refusal
      ? { blockId: metadata.blockId, outcome: 'rejected', reason: refusal.reason }
      : { blockId: metadata.blockId, outcome: 'ready' };
    const route = { from: this.keys.self, to: peer };
    const sealed = sealBlockAck(
      ack,
      { ...route, expiresAt: metadata.expiresAt },
      this.keys.identity.sigSecretKey,
      this.keys.kemPublicKeyOf(peer),
    );
    const reply = blockAckMessage(route, metadata.blockId, sealed, { prefix: this.prefix });
    try {
      await this.ledger.processOnce(messageId, message.subject, async (scope) => {
        if (material) {
          const link = await scope.links.ensure(metadata.source, metadata.target, metadata.layout.blockBits);
          await scope.blocks.store({
            id: metadata.blockId,
            linkId: link.id,
            role: 'target',
            state: 'ready',
            material,
            bits: metadata.layout.blockBits,
            metadata: Buffer.from(message.data),
            expiresAt: new Date(metadata.expiresAt),
          });
        }
        await scope.outbox.append(reply.subject, reply.msgId, reply.payload);
      });
    } finally {
      material?.fill(0);
    }
    this.relay.kick();
    if (material) {
      this.metrics.regenerated.inc();
      observeLag(this.metrics.lag, 'metadata', metadata.createdAt);
    }
    if (refusal?.alarm) this.metrics.kcvMismatches.inc();
    return 'ack';
  }

  /** The block's material, or why the block is refused; throws what a later delivery may get past. */
  private async regenerate(metadata: BlockMetadata): Promise<Regenerated> {
    // A sample past its deadline is shredded at its server, so reading could only be refused. Not trying
    // also ends the block while its servers are out of reach, where retrying would hold the message (see
    // regenerationRefusal) until it expires.
    const late = metadata.samples.find((sample) => sample.notAfter <= Date.now());
    if (late !== undefined) {
      return {
        refusal: { reason: 'samples-refused', alarm: false },
        why: `the deadline of its sample of ${late.serverId} has passed`,
      };
    }
    try {
      const block = await regenerateBlock(metadata, this.entropy.all);
      // A view, not a copy: zeroing `material` zeroes the only plaintext of the block.
      return { material: Buffer.from(block.buffer, block.byteOffset, block.byteLength) };
    } catch (error) {
      const refusal = regenerationRefusal(error);
      if (!refusal) throw error;
      return { refusal, why: (error as Error).message };
    }
  }
}
