import { EntropyUnavailable, generateBlock, sealMetadata } from '@dqkd/blast';
import type { DqkdConfig, Link as LinkConfig } from '@dqkd/config';
import type { KmeEntropyCredentials, KmeEntropySources } from '@dqkd/entropy';
import { LEASE_MARGIN_MS, UNCONFIRMED_BURN_REASON, type Ledger, type Link } from '@dqkd/ledger';
import { metadataMessage, type OutboxRelay } from '@dqkd/messaging';
import { BackOff, describeError } from '@dqkd/runtime';
import type { Logger } from '@nestjs/common';

import type { GeneratorMetrics } from './generator-metrics';
import { REFILL_LEAD, type GeneratorSettings } from './generator-settings';
import { blocksToGenerate, whileUnanswered, withShortage } from './watermarks';

/**
 * After a round whose blocks failed (no samples from every entropy server, or a block that could not be sealed
 * or stored), a link waits this long before it tries again, doubling up to RETRY_MAX_MS: each try leases a
 * sample from every server, so retrying every round would drain the servers' pools (and this KME's share of
 * them) for nothing. A link whose ledger work failed waits as well: a database that is down would otherwise
 * have every round log the same error.
 */
export const RETRY_MIN_MS = 1_000;
/** How long a gateway's shortage counts: a waiting request is answered within 2 s, and said again meanwhile. */
const SHORTAGE_HOLD_MS = 2_500;
export const RETRY_MAX_MS = 30_000;

export interface PoolFillerParts {
  readonly config: DqkdConfig;
  readonly ledger: Ledger;
  readonly entropy: KmeEntropySources;
  readonly credentials: KmeEntropyCredentials;
  readonly relay: OutboxRelay;
  readonly settings: GeneratorSettings;
  readonly metrics: GeneratorMetrics;
  /** Subject prefix of cross-site messages; undefined = `dqkd`. */
  readonly prefix: string | undefined;
  readonly logger: Logger;
}

/**
 * Keeps each outgoing link's pool between its watermarks, and burns blocks the target never confirmed.
 * Replicas cooperate through a Postgres advisory lock per link: the one holding it fills that link, the
 * others skip it, and a replica that dies releases it with its connection, so no block is made twice.
 */
export class PoolFiller {
  private stopping = false;
  /** Each link's back-off, by target KME: when its next try may start. */
  private readonly backOffs = new Map<string, BackOff>();
  /**
   * The largest request each link's pool could not cover, announced by a gateway since this replica last
   * filled it, and when: a gateway says it again while its request waits, so an older one is over (served,
   * given up, or filled by another replica).
   */
  private readonly shortages = new Map<number, { readonly bits: number; readonly at: number }>();

  constructor(private readonly parts: PoolFillerParts) {}

  stop(): void {
    this.stopping = true;
  }

  /** A gateway of the site found link `linkId` short of `bits` for a request (see withShortage). */
  shortOf(linkId: number, bits: number): void {
    this.shortages.set(linkId, { bits: Math.max(bits, this.shortageOf(linkId) ?? 0), at: Date.now() });
  }

  /** The link's shortage while it still counts (SHORTAGE_HOLD_MS), else undefined. */
  private shortageOf(linkId: number): number | undefined {
    const known = this.shortages.get(linkId);
    return known !== undefined && Date.now() - known.at <= SHORTAGE_HOLD_MS ? known.bits : undefined;
  }

  /**
   * One pass over every outgoing link; answers the number of blocks made. A link that fails is logged and left
   * to its next try: the other links are filled, and unconfirmed blocks burned, all the same.
   */
  async round(): Promise<number> {
    const { config, logger } = this.parts;
    let made = 0;
    for (const link of config.network.linksFrom(config.kme.id)) {
      if (this.stopping) break;
      const backOff = this.backOffOf(link.target);
      if (!backOff.ready(Date.now())) continue;
      const failures = backOff.failures;
      try {
        made += await this.fillLink(link);
        // A try that went through ends the link's waits, unless it set another (blocks that failed, a probe).
        if (backOff.failures === failures) backOff.succeeded();
      } catch (error) {
        const delayMs = backOff.failed(Date.now());
        logger.error(
          `link ${link.source} → ${link.target}: ${describeError(error)}; trying again in ${delayMs} ms`,
        );
      }
    }
    await this.burnUnconfirmed();
    return made;
  }

  private async fillLink(linkConfig: LinkConfig): Promise<number> {
    const { ledger, config } = this.parts;
    const link = await ledger.links.ensure(
      linkConfig.source,
      linkConfig.target,
      config.network.blast.blockBits,
    );
    // One generator of the site at a time fills a link; the others find it taken and leave it.
    const filled = await ledger.exclusively(`fill link ${link.id}`, () => this.fill(link, linkConfig));
    return filled.ran ? filled.value : 0;
  }

  /** The back-off of the link to `target`: RETRY_MIN_MS after its first failed try, doubling to RETRY_MAX_MS. */
  private backOffOf(target: string): BackOff {
    let backOff = this.backOffs.get(target);
    if (backOff === undefined) this.backOffs.set(target, (backOff = new BackOff(RETRY_MIN_MS, RETRY_MAX_MS)));
    return backOff;
  }

  private async fill(link: Link, linkConfig: LinkConfig): Promise<number> {
    const watermarks = withShortage(linkConfig.limits, this.shortageOf(link.id), link.blockBits);
    this.shortages.delete(link.id);
    let wanted = blocksToGenerate(await this.poolBits(link.id), watermarks, link.blockBits);
    // Asked only when blocks are due: rare, and its scan of the link's blocks is not free.
    const answer = wanted > 0 ? await this.parts.ledger.blocks.answerOf(link.id) : undefined;
    if (answer !== undefined) wanted = whileUnanswered(wanted, answer);
    let made = 0;
    while (made < wanted && !this.stopping) {
      const batch = Math.min(this.parts.settings.concurrency, wanted - made);
      const outcomes = await Promise.allSettled(Array.from({ length: batch }, () => this.makeBlock(link)));
      made += outcomes.filter((outcome) => outcome.status === 'fulfilled').length;
      const failure = outcomes.find((outcome) => outcome.status === 'rejected');
      if (failure) {
        const reason: unknown = failure.reason;
        // Entropy servers come back on their own, and so does a database that refused writes; a later round
        // tries again.
        const delayMs = this.backOffOf(link.targetKmeId).failed(Date.now());
        const line = `link ${link.sourceKmeId} → ${link.targetKmeId}: ${describeError(reason)}; trying again in ${delayMs} ms`;
        if (reason instanceof EntropyUnavailable) this.parts.logger.warn(line);
        else this.parts.logger.error(line);
        break;
      }
      // A probe is spaced like a retry: a target that rejects blocks settles each within moments, and probing
      // it every round would still hold samples at every server until their deadline.
      if (answer?.unanswered) this.backOffOf(link.targetKmeId).failed(Date.now());
    }
    if (made > 0) {
      this.parts.logger.log(
        `link ${link.sourceKmeId} → ${link.targetKmeId}: ${made} block(s) sent for confirmation`,
      );
    }
    return made;
  }

  /**
   * Ready unreserved bits plus bits still awaiting the target's confirmation, of source blocks that have more
   * than REFILL_LEAD of their lifetime left beyond the lease margin. A pool filled in one burst has blocks that
   * expire together: counting them to their deadline would leave the link without usable bits (enc_keys
   * answering 503) from when leases stop taking them until new blocks are confirmed. They are replaced first.
   */
  private poolBits(linkId: number): Promise<number> {
    const horizonMs = LEASE_MARGIN_MS + this.parts.settings.blockLifetimeMs * REFILL_LEAD;
    return this.parts.ledger.blocks.unreservedBits(linkId, horizonMs, ['ready', 'pending']);
  }

  private async makeBlock(link: Link): Promise<void> {
    const { config, ledger, entropy, credentials, relay, settings } = this.parts;
    const peer = config.network.kme(link.targetKmeId);
    if (!peer) throw new Error(`link target ${link.targetKmeId} is not a KME of the network file`);
    const now = Date.now();
    const endTimer = this.parts.metrics.generationDuration.startTimer();
    const generated = await generateBlock({
      source: link.sourceKmeId,
      target: link.targetKmeId,
      blockBits: link.blockBits,
      minEntropyRate: config.network.blast.h,
      sources: entropy.forGeneration,
      now,
      expiresAt: now + settings.blockLifetimeMs,
      sampleDeadline: now + settings.ackTimeoutMs,
    });
    endTimer();
    const material = Buffer.from(generated.block);
    generated.block.fill(0);
    try {
      const { metadata } = generated;
      const sealed = sealMetadata(metadata, credentials.identity.sigSecretKey, peer.sealing.kemPublicKey);
      const ends = { source: link.sourceKmeId, target: link.targetKmeId };
      const message = metadataMessage(ends, metadata.blockId, sealed, { prefix: this.parts.prefix });
      await ledger.transaction(async (scope) => {
        await scope.blocks.store({
          id: metadata.blockId,
          linkId: link.id,
          role: 'source',
          state: 'pending',
          material,
          bits: link.blockBits,
          metadata: Buffer.from(sealed),
          expiresAt: new Date(metadata.expiresAt),
        });
        await scope.outbox.append(message.subject, message.msgId, message.payload);
      });
    } finally {
      material.fill(0);
    }
    relay.kick();
    this.parts.metrics.generated.inc();
  }

  /** A block its target has not confirmed in time can never be used: its samples are shredded by now. */
  private async burnUnconfirmed(): Promise<void> {
    const { ledger, settings, logger } = this.parts;
    const overdue = (await ledger.manager.query(
      `SELECT id FROM blocks WHERE role = 'source' AND state = 'pending'
       AND created_at < now() - $1 * interval '1 millisecond' ORDER BY created_at LIMIT 1000`,
      [settings.ackTimeoutMs],
    )) as { id: string }[];
    let burned = 0;
    for (const { id } of overdue) {
      // Only if still pending: the target's confirmation may have been applied since the query.
      if (await ledger.blocks.burn(id, UNCONFIRMED_BURN_REASON, 'pending')) burned += 1;
    }
    this.parts.metrics.burned.inc({ reason: 'unconfirmed' }, burned);
    if (burned > 0) logger.warn(`burned ${burned} block(s) their target did not confirm in time`);
  }
}
