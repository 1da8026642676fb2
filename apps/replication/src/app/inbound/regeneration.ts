import { EnvelopeError, openMetadata, regenerateBlock, type BlockMetadata } from '@dqkd/blast';
import type { KmeEntropySources } from '@dqkd/entropy';
import type { Ledger } from '@dqkd/ledger';
import {
  beyondLongest,
  blockAckMessage,
  MAX_BLOCK_LIFETIME_MS,
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

  async handle(message: BusMessage, peer: string): Promise<Settlement | 'later'> {
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
    // Another delivery of the same metadata (a resend under another message ID, or a copy the IN stream took
    // twice: it checks message IDs for only 100 ms) that a handler of any replica is regenerating makes this
    // one come again later, not regenerate alongside: its read of the samples would be refused as a third,
    // and had it claimed the message first, the block the other regenerated would have been rejected.
    const settled = await this.ledger.exclusively(`regenerate ${messageId} on ${message.subject}`, async () =>
      // A redelivery: the block and its acknowledgement were committed together the first time.
      (await this.ledger.inbox.has(messageId, message.subject))
        ? 'ack'
        : this.settle(message, peer, metadata, messageId),
    );
    return settled.ran ? settled.value : 'later';
  }

  /** Regenerates the block and commits it with its acknowledgement, or the rejection and why. */
  private async settle(
    message: BusMessage,
    peer: string,
    metadata: BlockMetadata,
    messageId: string,
  ): Promise<Settlement> {
    const regenerated = await this.regenerate(metadata);
    const { material, refusal } = regenerated;
    const ack: BlockAck = refusal
      ? { blockId: metadata.blockId, outcome: 'rejected', reason: refusal.reason }
      : { blockId: metadata.blockId, outcome: 'ready' };
    const route = { from: this.keys.self, to: peer };
    const sealed = sealBlockAck(
      ack,
      // The block's deadline, unless it is one refused as too far off.
      { ...route, expiresAt: Math.min(metadata.expiresAt, Date.now() + MAX_BLOCK_LIFETIME_MS) },
      this.keys.identity.sigSecretKey,
      this.keys.kemPublicKeyOf(peer),
    );
    const reply = blockAckMessage(route, metadata.blockId, sealed, { prefix: this.prefix });
    let applied: boolean;
    try {
      const result = await this.ledger.processOnce(messageId, message.subject, async (scope) => {
        if (material) {
          const link = await scope.links.ensure(metadata.source, metadata.target, metadata.layout.blockBits);
          const stored = await scope.blocks.store({
            id: metadata.blockId,
            linkId: link.id,
            role: 'target',
            state: 'ready',
            material,
            bits: metadata.layout.blockBits,
            metadata: Buffer.from(message.data),
            expiresAt: new Date(metadata.expiresAt),
          });
          // Taken since regenerate looked: never confirm a block this site holds as another. The next
          // delivery finds it there and rejects the block.
          if (!stored) throw new Error(`block ${metadata.blockId} was stored meanwhile by another message`);
        }
        await scope.outbox.append(reply.subject, reply.msgId, reply.payload);
      });
      applied = result.processed;
    } finally {
      material?.fill(0);
    }
    // Another delivery of the message (on another replica) was committed first: this one had no effect, so
    // it reports nothing, least of all a refusal that only its late read of the samples met. A check value
    // that did not match is what the entropy servers answered, though, whichever delivery saw it.
    if (!applied && refusal?.reason !== 'kcv-mismatch') return 'ack';
    this.relay.kick();
    if (refusal !== undefined) {
      const line = `block ${metadata.blockId} from ${peer} rejected (${refusal.reason}): ${regenerated.why}`;
      if (refusal.alarm) this.logger.error(`ALARM ${line}`);
      else this.logger.warn(line);
    }
    if (material) {
      this.metrics.regenerated.inc();
      observeLag(this.metrics.lag, 'metadata', metadata.createdAt);
    }
    if (refusal?.reason === 'kcv-mismatch') this.metrics.kcvMismatches.inc();
    else if (refusal?.reason === 'metadata-refused') this.metrics.refused.inc({ kind: 'metadata' });
    return 'ack';
  }

  /** The block's material, or why the block is refused; throws what a later delivery may get past. */
  private async regenerate(metadata: BlockMetadata): Promise<Regenerated> {
    const refused = await this.refusal(metadata);
    if (refused !== undefined) return refused;
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

  /**
   * Why the metadata can never become a block here, before any sample is read: a deadline further off than
   * a block lives, a sample of an entropy server this site does not use (no later delivery can read it), or
   * a block ID this site already holds (only a faulty or hostile peer names one: confirming it would have
   * the source carve keys from bits this site holds as another block).
   */
  private async refusal(metadata: BlockMetadata): Promise<Regenerated | undefined> {
    if (beyondLongest(metadata.expiresAt, MAX_BLOCK_LIFETIME_MS)) {
      return {
        refusal: { reason: 'metadata-refused', alarm: true },
        why: `its deadline (${metadata.expiresAt} ms after 1970) lies beyond the longest life of a block`,
      };
    }
    const servers = new Set(this.entropy.all.map((source) => source.serverId));
    const unknown = metadata.samples.find((sample) => !servers.has(sample.serverId));
    if (unknown !== undefined) {
      return {
        refusal: { reason: 'metadata-refused', alarm: false },
        why: `its sample of ${unknown.serverId} lies on an entropy server this site does not use`,
      };
    }
    if ((await this.ledger.blocks.find(metadata.blockId)) !== undefined) {
      return {
        refusal: { reason: 'metadata-refused', alarm: true },
        why: 'a block with its ID is held here already',
      };
    }
    return undefined;
  }
}
