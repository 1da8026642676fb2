import { DqkdConfig } from '@dqkd/config';
import type { EtsiError } from '@dqkd/etsi014';
import {
  CLAIM_LEASE_MS,
  deliveryRefusal,
  Ledger,
  MaterialIntegrityError,
  type DeliverableKey,
  type DeliveryClaim,
  type HeldClaim,
  type Slave,
} from '@dqkd/ledger';
import { describeError } from '@dqkd/runtime';
import { InjectMetric, linkLabel, type Counter } from '@dqkd/metrics';
import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';

import { GATEWAY_OPTIONS, type GatewayOptions } from '../gateway-options';
import { CLAIMS_LOST } from '../observability/gateway-metrics';
import { present, type Departure } from './departure';

/**
 * How long dec_keys waits for keys whose assignment is still on its way from the source: as long as enc_keys
 * waits for the pool. Under the load benchmark's peaks a few assignments took over a second.
 */
const ASSIGNMENT_WAIT_MS = 2_000;
/**
 * Longest pause before a batch that only holds requests waiting for their assignment: the ledger's
 * notification that keys were recorded, or a new request, ends it sooner.
 */
const ASSIGNMENT_POLL_MS = 50;
/** Tries at recording whether answers went out, a second apart, before the claims are left to lapse. */
const SETTLE_ATTEMPTS = 3;
const SETTLE_RETRY_MS = 1_000;

/** One dec_keys request, checked: the slave SAE asks for keys of the link from `sourceKmeId`. */
export interface DeliveryRequest {
  readonly sourceKmeId: string;
  readonly slaveSaeId: string;
  /** The path ID: the master SAE, or its KME when the keys were addressed to the KME. */
  readonly pathId: string;
  readonly keyIds: readonly string[];
  /** Whether the slave has gone: a batch that starts then claims nothing for it. */
  readonly departed: Departure;
}

export type Delivered =
  | {
      readonly ok: true;
      readonly keys: readonly {
        readonly keyId: string;
        readonly material: Buffer;
        readonly expiresAt: Date;
      }[];
      /** The slave entries claimed for the answer: settle them once it went out, or did not (see settle). */
      readonly claims: readonly HeldClaim[];
    }
  | { readonly ok: false; readonly error: EtsiError };

/** An answer whose outcome waits to be recorded, and what its settle call waits on. */
interface ToSettle {
  readonly claims: readonly HeldClaim[];
  readonly sent: boolean;
  readonly done: () => void;
  /** Statements that failed to record it so far. */
  failures: number;
}

interface Pending {
  readonly request: DeliveryRequest;
  readonly waitUntil: number;
  readonly resolve: (delivered: Delivered) => void;
  readonly reject: (error: unknown) => void;
}

/** What one request of a batch came to: its claims, a refusal, or a wait for keys not here yet. */
type Verdict =
  | { readonly kind: 'claims'; readonly claims: DeliveryClaim[] }
  | { readonly kind: 'refused'; readonly error: EtsiError }
  | { readonly kind: 'wait' };

/**
 * dec_keys at the target, as group commits: the requests that arrive while a batch is in the ledger form
 * the next batch. Each batch reads its keys, judges each request on its own (all of its keys or none, §5.4's
 * 401 when the caller is not a slave of every key, each slave entry once even when two requests of one batch
 * ask for it), and claims what it delivers in one statement that checks again under the entries' locks.
 * Requests naming keys whose assignment has not arrived wait in later batches, up to ASSIGNMENT_WAIT_MS.
 */
@Injectable()
export class KeyDelivery implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('KeyDelivery');
  private queue: Pending[] = [];
  private running: Promise<void> | undefined;
  private stopListening: (() => Promise<void>) | undefined;
  /** Ends the pause of a drain that waits for assignments. */
  private wake: (() => void) | undefined;
  /**
   * Keys were recorded since the running batch looked: its waiting requests must look again at once. A
   * notification that arrives while a batch is in the ledger finds no pause to end, and was lost before.
   */
  private recordedSinceLook = false;
  /** Recorded by the next batch's statement (see KeyStore.claim). */
  private toSettle: ToSettle[] = [];
  /** Answers handed out whose outcome is not recorded yet (see settleWhenAnswered). */
  private readonly answering = new Set<Promise<void>>();

  private readonly pollMs: number;

  constructor(
    private readonly config: DqkdConfig,
    private readonly ledger: Ledger,
    @Inject(GATEWAY_OPTIONS) options: GatewayOptions,
    @InjectMetric(CLAIMS_LOST) private readonly claimsLost: Counter,
  ) {
    this.pollMs = options.assignmentPollMs ?? ASSIGNMENT_POLL_MS;
  }

  async onApplicationBootstrap(): Promise<void> {
    this.stopListening = await this.ledger.onKeysRecorded(() => {
      this.recordedSinceLook = true;
      this.wake?.();
    });
  }

  deliver(request: DeliveryRequest): Promise<Delivered> {
    return new Promise((resolve, reject) => {
      this.queue.push({ request, waitUntil: Date.now() + ASSIGNMENT_WAIT_MS, resolve, reject });
      this.running ??= this.drain();
      this.wake?.();
    });
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.running;
    await this.stopListening?.();
  }

  /** Settles `claims` once `outcome` tells whether the answer that holds them went out. */
  settleWhenAnswered(claims: readonly HeldClaim[], outcome: Promise<boolean>): void {
    const settling: Promise<void> = outcome
      .then((sent) => {
        if (!sent) {
          this.logger.warn(
            `a dec_keys answer of ${claims.length} key(s) did not go out (its connection closed first): ` +
              'the slave can fetch them again',
          );
        }
        return this.settle(claims, sent);
      })
      .finally(() => this.answering.delete(settling));
    this.answering.add(settling);
  }

  /** Ends once every answer handed out so far has gone out or not, and that is recorded (or given up). */
  async settled(): Promise<void> {
    while (this.answering.size > 0 || this.running !== undefined) {
      await Promise.all([...this.answering, this.running]);
    }
  }

  /**
   * Records whether the answer that held `claims` went out: its keys delivered, or free for the slave to fetch
   * again. It rides with the next batch's statement, or runs alone when no request waits.
   */
  private settle(claims: readonly HeldClaim[], sent: boolean): Promise<void> {
    return new Promise((done) => {
      this.toSettle.push({ claims, sent, done, failures: 0 });
      this.running ??= this.drain();
      this.wake?.();
    });
  }

  /**
   * Keeps the outcomes a failed statement did not record for the next one, but those that failed
   * SETTLE_ATTEMPTS times: their claims lapse after CLAIM_LEASE_MS, and keys that did go out can then be fetched
   * a second time. True when some are kept.
   */
  private keepUnsettled(settling: readonly ToSettle[], error: unknown): boolean {
    const kept = settling.filter((each) => ++each.failures < SETTLE_ATTEMPTS);
    const dropped = settling.filter((each) => each.failures >= SETTLE_ATTEMPTS);
    if (dropped.length > 0) {
      const keys = (sent: boolean) =>
        dropped.filter((each) => each.sent === sent).reduce((sum, each) => sum + each.claims.length, 0);
      this.logger.error(
        `could not record ${keys(true)} key deliveries and ${keys(false)} keys whose answer did not go out: ` +
          `${describeError(error)}; their claims lapse in ${CLAIM_LEASE_MS / 1000} s, and the keys can then ` +
          'be fetched again',
      );
      dropped.forEach((each) => each.done());
    }
    this.toSettle.push(...kept);
    return kept.length > 0;
  }

  private async drain(): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve));
    let waiting: Pending[] = [];
    while (this.queue.length > 0 || waiting.length > 0 || this.toSettle.length > 0) {
      if (this.queue.length === 0 && this.toSettle.length === 0) await this.pause();
      const batch = [...waiting, ...this.queue];
      this.queue = [];
      const settling = this.toSettle;
      this.toSettle = [];
      try {
        waiting = await this.runBatch(batch, settling);
        settling.forEach((each) => each.done());
      } catch (error) {
        this.logger.error(`a batch of ${batch.length} dec_keys requests failed: ${describeError(error)}`);
        batch.forEach((pending) => pending.reject(error));
        waiting = [];
        if (this.keepUnsettled(settling, error)) {
          await new Promise((resolve) => setTimeout(resolve, SETTLE_RETRY_MS));
        }
      }
    }
    this.running = undefined;
  }

  private pause(): Promise<void> {
    if (this.recordedSinceLook) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.wake?.(), this.pollMs);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
    });
  }

  /**
   * Two round trips for the whole batch, no transaction: the keys as they are, to judge each request by, then
   * one statement that claims every request judged deliverable (see KeyStore.claim). A request that lost an
   * entry to a concurrent delivery in between gets "not found", as it would have a moment later. Answers the
   * requests that wait for keys not here yet.
   */
  private async runBatch(all: readonly Pending[], settling: readonly ToSettle[]): Promise<Pending[]> {
    const settled = {
      sent: settling.filter((each) => each.sent).flatMap((each) => each.claims),
      unsent: settling.filter((each) => !each.sent).flatMap((each) => each.claims),
    };
    if (all.length === 0) {
      await this.ledger.keys.claim([], settled);
      return [];
    }
    this.recordedSinceLook = false;
    // A slave that went away (a client timeout while its keys were awaited, say) would lose keys claimed for an
    // answer it never reads, and then hear "not found" when it asks again.
    const batch = present(all, ({ resolve }) => resolve({ ok: false, error: { kind: 'keys-not-found' } }));
    const now = Date.now();
    const linkIds = new Map<string, number | undefined>();
    for (const { request } of batch) {
      if (!linkIds.has(request.sourceKmeId))
        linkIds.set(
          request.sourceKmeId,
          await this.ledger.links.idOf(request.sourceKmeId, this.config.kme.id),
        );
    }
    const waiting: Pending[] = [];
    const answers: [Pending, Verdict][] = [];
    const found = await this.ledger.keys.deliverable(batch.flatMap(({ request }) => request.keyIds));
    const claimed = new Set<string>();
    for (const pending of batch) {
      const verdict = this.judge(pending.request, found, claimed, linkIds.get(pending.request.sourceKmeId));
      if (verdict.kind === 'wait' && now + this.pollMs < pending.waitUntil) waiting.push(pending);
      else answers.push([pending, verdict]);
    }
    const granted = answers.flatMap(([, verdict]) => (verdict.kind === 'claims' ? [verdict.claims] : []));
    const { delivered, refused, unreadable, claimedUntil } = await this.ledger.keys.claim(granted, settled);
    try {
      let claim = 0; // the index in `granted` of the next request with claims
      for (const [{ request, resolve }, verdict] of answers) {
        if (verdict.kind !== 'claims') {
          // A key still missing once the wait is over is unknown, as far as this KME can tell.
          resolve({
            ok: false,
            error: verdict.kind === 'refused' ? verdict.error : { kind: 'keys-not-found' },
          });
        } else if (refused.has(claim++)) {
          // A claim lost to a concurrent delivery is a key already delivered, which the spec calls not found.
          this.claimsLost.inc({ link: linkLabel(request.sourceKmeId, this.config.kme.id) });
          resolve({ ok: false, error: { kind: 'keys-not-found' } });
        } else {
          resolve(this.answerClaimed(verdict.claims, claimedUntil, delivered, unreadable, found));
        }
      }
    } finally {
      delivered.forEach((material) => material.fill(0));
    }
    return waiting;
  }

  /**
   * A claimed request's answer: its keys, or a 503 when one of them did not open (left unclaimed when this
   * process lacks its KEK version, else claimed, and released here).
   */
  private answerClaimed(
    claimed: readonly DeliveryClaim[],
    claimedUntil: string | undefined,
    material: ReadonlyMap<string, Buffer>,
    unreadable: ReadonlyMap<string, unknown>,
    found: ReadonlyMap<string, DeliverableKey>,
  ): Delivered {
    // The statement claimed this request's entries (it was not refused, and none of its keys lacks its KEK
    // version, which leaves the whole request unclaimed): it says until when.
    const claims = claimed.map((claim) => ({ ...claim, claimedUntil: claimedUntil as string }));
    const broken = claims.find(({ keyId }) => unreadable.has(keyId));
    if (broken !== undefined) {
      const error = unreadable.get(broken.keyId);
      if (error instanceof MaterialIntegrityError && error.kekMissing) {
        this.logger.warn(
          `key ${broken.keyId} left undelivered: ${describeError(error)}; ` +
            'a gateway with the current keyring (DQKD_KEK) delivers it',
        );
      } else {
        this.logger.error(
          `the material of key ${broken.keyId} did not open; its dec_keys request fails: ` +
            describeError(error),
        );
        void this.settle(claims, false);
      }
      return { ok: false, error: { kind: 'server-error' } };
    }
    return {
      ok: true,
      keys: claims.map(({ keyId }) => ({
        keyId,
        material: Buffer.from(material.get(keyId) as Buffer),
        expiresAt: (found.get(keyId) as DeliverableKey).expiresAt,
      })),
      claims,
    };
  }

  /**
   * One request against the keys the batch read, whatever the order of its keys: a key of the link from the
   * path's KME whose slave the caller is not gets 401 (§5.4: the caller was not supplied to Get key for it),
   * whichever SAE of that KME the path names, also while others are still missing; a key of another link here
   * (one this site issued, say), or of the caller's from another master, is not found (400, without telling
   * whose it is); a missing key is waited for; then each slave entry must be undelivered, unexpired and still
   * hold material (else 400), and not held for another answer, in the ledger or in this batch (else 503).
   */
  private judge(
    request: DeliveryRequest,
    found: ReadonlyMap<string, DeliverableKey>,
    claimed: Set<string>,
    linkId: number | undefined,
  ): Verdict {
    const { network, kme } = this.config;
    const claims: DeliveryClaim[] = [];
    let foreign = false;
    for (const keyId of request.keyIds) {
      const key = found.get(keyId);
      if (key === undefined) continue;
      if (key.linkId !== linkId) {
        foreign = true;
        continue;
      }
      const slave = slaveEntry(key, request.slaveSaeId, kme.id);
      if (slave === undefined) return { kind: 'refused', error: { kind: 'not-a-slave' } };
      const fromMaster =
        key.masterSaeId === request.pathId || network.sae(key.masterSaeId)?.kmeId === request.pathId;
      if (!fromMaster) {
        foreign = true;
        continue;
      }
      claims.push({ keyId, slave });
    }
    if (foreign) return { kind: 'refused', error: { kind: 'keys-not-found' } };
    if (claims.length < new Set(request.keyIds).size) return { kind: 'wait' };
    let inDelivery = false;
    for (const claim of claims) {
      const refusal = claimed.has(claimKey(claim))
        ? 'in-delivery'
        : deliveryRefusal(found.get(claim.keyId), claim.slave);
      if (refusal === 'in-delivery') {
        inDelivery = true;
      } else if (refusal !== undefined) {
        // Delivered, expired or emptied keys cannot be returned: the spec's one answer for that is "not
        // found".
        return { kind: 'refused', error: { kind: 'keys-not-found' } };
      }
    }
    // Held for another answer on its way: free again if that answer does not arrive, so not final (a slave
    // that asks again after losing an answer hears this until the loss is recorded, or the claim lapses).
    if (inDelivery) return { kind: 'refused', error: { kind: 'keys-in-delivery' } };
    claims.forEach((claim) => claimed.add(claimKey(claim)));
    return { kind: 'claims', claims };
  }
}

/**
 * The slave entry the caller fetches a key as: itself by name, or any SAE of this KME for a KME-addressed
 * key.
 */
function slaveEntry(key: DeliverableKey, saeId: string, kmeId: string): Slave | undefined {
  if (key.slaves.some((entry) => entry.kind === 'sae' && entry.id === saeId))
    return { kind: 'sae', id: saeId };
  return key.slaves.some((entry) => entry.kind === 'kme' && entry.id === kmeId)
    ? { kind: 'kme', id: kmeId }
    : undefined;
}

function claimKey(claim: DeliveryClaim): string {
  return `${claim.keyId} ${claim.slave.kind} ${claim.slave.id}`;
}
