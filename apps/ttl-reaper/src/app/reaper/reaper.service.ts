import type { Ledger, ReapCounts, ScrubCursor } from '@dqkd/ledger';
import { describeError } from '@dqkd/runtime';
import type { Counter } from '@dqkd/metrics';
import type { Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';

import { LONGEST_TTL_MS, type ReaperSettings } from './reaper-settings';

/** Batches per round at most, so a huge backlog cannot keep one round going forever. */
const MAX_BATCHES_PER_ROUND = 100;
/**
 * Deletes this site's expired keys and blocks on a timer (the ledger zeroes their material first). Replicas
 * skip rows another one is deleting, so they share the work and every row is counted once. Each round first
 * zeroes, in the target's copies of blocks, the bits of the key groups recorded since (the groups not zeroed
 * yet, from where the round before stopped): a key's material then lives only in its own row, which goes once
 * every slave has it or it expires, instead of also in its block until the block's deadline plus the grace.
 * The ledger deletes an expired key only once its bits are zeroed.
 */
export class ReaperService implements OnApplicationBootstrap, OnModuleDestroy {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopping = false;
  /**
   * Where the next round's scrub begins: where the last one stopped at its batch cap, or (undefined) at the
   * oldest group not zeroed yet. Starting each round from the oldest, groups that keep failing (a block under
   * a KEK version missing from the keyring) could fill every round's batches and keep newer groups from ever
   * being zeroed.
   */
  private scrubFrom: ScrubCursor | undefined;

  constructor(
    private readonly ledger: Ledger,
    private readonly settings: ReaperSettings,
    private readonly metrics: { readonly reaped: Counter; readonly scrubbed: Counter },
    private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    const grace = this.settings.targetGraceMs;
    if (grace < LONGEST_TTL_MS) {
      this.logger.warn(
        `DQKD_TARGET_GRACE_MS is ${grace} ms, less than the longest TTL (${LONGEST_TTL_MS} ms): a key carved ` +
          `near its block's deadline is lost at this site if its assignment arrives more than ${grace} ms after ` +
          'that deadline (a peer or the link down), though its own deadline has not passed',
      );
    }
    this.timer = setInterval(() => this.tick(), this.settings.intervalMs);
    this.timer.unref();
    this.tick();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    await this.running;
  }

  /** One round: batches until nothing expired is left; answers what it deleted. */
  async round(): Promise<ReapCounts> {
    const total = { keys: 0, keysWaiting: 0, blocks: 0, reservations: 0 };
    const { targetGraceMs, batchSize } = this.settings;
    // Each batch goes on after the groups of the one before, also past groups that failed.
    let cursor = this.scrubFrom;
    await this.inBatches(async () => {
      cursor = await this.scrub(batchSize, cursor);
      return cursor !== undefined;
    });
    this.scrubFrom = cursor;
    await this.inBatches(async () => {
      const counts = await this.ledger.reapExpired({ targetGraceMs, limit: batchSize });
      total.keys += counts.keys;
      total.keysWaiting += counts.keysWaiting;
      total.blocks += counts.blocks;
      total.reservations += counts.reservations;
      this.metrics.reaped.inc({ kind: 'keys' }, counts.keys);
      this.metrics.reaped.inc({ kind: 'blocks' }, counts.blocks);
      this.metrics.reaped.inc({ kind: 'reservations' }, counts.reservations);
      return counts.keys + counts.keysWaiting >= batchSize || counts.blocks >= batchSize;
    });
    // Message IDs processed and messages sent are kept as long as a peer may still repeat them.
    const retainedSince = new Date(Date.now() - this.settings.inboxRetentionMs);
    await this.ledger.inbox.prune(retainedSince);
    // On the in-process bus every enc_keys batch adds a row.
    await this.inBatches(async () => (await this.ledger.outbox.prune(retainedSince, batchSize)) >= batchSize);
    await this.pruneAudit();
    if (total.keys + total.blocks + total.reservations > 0) {
      this.logger.log(
        `reaped ${total.keys} expired key(s), ${total.blocks} block(s) and ${total.reservations} reservation(s)`,
      );
    }
    return total;
  }

  /** Deletes audit events past the retention, so that the trail stops growing once it covers that time. */
  private async pruneAudit(): Promise<void> {
    const { auditRetentionDays, batchSize } = this.settings;
    let deleted = 0;
    await this.inBatches(async () => {
      const pruned = await this.ledger.audit.prune(auditRetentionDays, batchSize);
      deleted += pruned;
      return pruned >= batchSize;
    });
    if (deleted > 0) {
      this.logger.log(
        `deleted ${deleted} audit event(s) older than ${auditRetentionDays} days (DQKD_AUDIT_RETENTION_DAYS)`,
      );
    }
  }

  /** Runs `batch` until it answers that it found less than a full batch, at most MAX_BATCHES_PER_ROUND times. */
  private async inBatches(batch: () => Promise<boolean>): Promise<void> {
    for (let n = 0; n < MAX_BATCHES_PER_ROUND && !this.stopping; n += 1) {
      if (!(await batch())) break;
    }
  }

  /**
   * Zeroes the bits of up to `limit` key groups after `after` in this site's blocks; answers where the next
   * batch goes on, when there may be more. A failure is logged: the keys it leaves not zeroed wait for a later
   * round, without their material once expired (one whose block's material does not authenticate is given up
   * on, and its keys go when they expire, its bits with the block).
   */
  private async scrub(limit: number, after: ScrubCursor | undefined): Promise<ScrubCursor | undefined> {
    try {
      const scrub = await this.ledger.scrubKeyBits(limit, after);
      this.metrics.scrubbed.inc({ outcome: 'zeroed' }, scrub.blocks);
      this.metrics.scrubbed.inc({ outcome: 'failed' }, scrub.failed.size);
      if (scrub.blocks > 0) {
        this.logger.log(`zeroed the bits of recorded keys in ${scrub.blocks} block(s) of this site`);
      }
      for (const [blockId, error] of scrub.failed) {
        this.logger.error(`could not zero recorded keys' bits in block ${blockId}: ${describeError(error)}`);
      }
      return scrub.next;
    } catch (error) {
      this.logger.error(`zeroing recorded keys' bits failed: ${describeError(error)}`);
      return undefined;
    }
  }

  private tick(): void {
    if (this.running) return;
    this.running = this.round()
      .then(
        () => undefined,
        (error: unknown) => this.logger.error(`reaping failed: ${describeError(error)}`),
      )
      .finally(() => (this.running = undefined));
  }
}
