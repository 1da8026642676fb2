import { randomUUID } from 'node:crypto';

import { encapsulate, type Encapsulation } from '@dqkd/blast';
import { DqkdConfig } from '@dqkd/config';
import { LEASE_MARGIN_MS, Ledger, type Reservation, type Slave } from '@dqkd/ledger';
import {
  assignmentMessageId,
  assignmentSubject,
  BUS,
  sealAssignment,
  type Assignment,
  type Bus,
} from '@dqkd/messaging';
import type { SealingIdentity } from '@dqkd/pki';
import { describeError } from '@dqkd/runtime';
import { Inject, Injectable, Logger, type BeforeApplicationShutdown } from '@nestjs/common';

import { GATEWAY_OPTIONS, type GatewayOptions } from '../gateway-options';
import { present, type Departure } from './departure';
import { SEALING_IDENTITY } from './sealing';

/** How long a request waits for the key-generator when the ready pool cannot cover it (issue 4: 2 s). */
const POOL_WAIT_MS = 2_000;
/** Pause before a batch that only holds requests waiting for the pool. */
const POOL_POLL_MS = 25;
/** How often a link's shortage is said again while requests wait for it. */
const SHORTAGE_REPEAT_MS = 200;
/**
 * How long a batch may wait for more requests while they keep arriving (a group commit's linger): requests
 * answered together come back together, and each that joins saves a statement, an envelope and a publish.
 */
const GATHER_MAX_MS = 3;
/**
 * Batches in the ledger at once. One at a time left a core idle while a large batch's statement ran (under
 * enc_keys with number=100 one statement records about 800 keys); the next batch now starts meanwhile.
 */
const BATCHES_IN_FLIGHT = 3;
/**
 * Alike requests share an assignment up to this many bits, so one large request cannot hold up the others.
 */
const MAX_GROUP_BITS = 1 << 20;
/**
 * Bits a gateway reserves and takes out of the ledger at once (more when a group needs more): a lease. The
 * batches that follow carve their keys from it in memory, so a batch's one statement only records keys.
 */
const LEASE_BITS = 1 << 16;
/**
 * A lease is carved for at most this long (and never past its blocks' deadline), so its bits always reach
 * the target well within the grace before uncarved material is burned there. What is left is zeroed.
 */
const LEASE_MAX_AGE_MS = 30_000;

/** One enc_keys request, checked and addressed: what the source needs to carve and announce its keys. */
export interface IssueRequest {
  readonly targetKmeId: string;
  readonly masterSaeId: string;
  readonly slaves: readonly Slave[];
  readonly number: number;
  readonly size: number;
  readonly ttlSeconds: number;
  /** Whether the master has gone: a batch that starts then drops the request. */
  readonly departed: Departure;
}

export interface IssuedKey {
  readonly keyId: string;
  readonly material: Buffer;
}

/**
 * Keys with their deadline, `short` when the ready pool could not cover the request within POOL_WAIT_MS, or
 * `departed` when the master went away before its keys were carved.
 */
export type Issued =
  | { readonly ok: true; readonly keys: readonly IssuedKey[]; readonly expiresAt: Date }
  | { readonly ok: false; readonly reason: 'short' | 'departed' };

interface Pending {
  readonly request: IssueRequest;
  readonly giveUpAt: number;
  readonly resolve: (issued: Issued) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Bits of one reservation taken out of the ledger and held here until carved: `next` is the first not yet
 * carved.
 */
interface Lease {
  readonly linkId: number;
  readonly reservation: Reservation;
  readonly material: Buffer;
  readonly usableUntil: number;
  /** The one X-Wing encapsulation to the target that the assignments of this lease share. */
  readonly encapsulation: Encapsulation;
  next: number;
  /** Retires the lease once it ages out, also when no request comes to replace it. */
  readonly ageOut: NodeJS.Timeout;
}

interface Carved {
  readonly linkId: number;
  readonly members: readonly Pending[];
  readonly assignment: Assignment;
  /** The keys' material, back to back in assignment order. */
  readonly material: Buffer;
  readonly subject: string;
  readonly msgId: string;
  readonly sealed: Buffer;
}

/**
 * enc_keys at the source, as group commits. Requests wait for a place among the batches in the ledger (a few
 * at once) and go together in the next one. The bits come from leases: a reservation taken out of the ledger
 * (zeroed there) in a transaction of its own, held in memory and carved by the batches that follow. Requests
 * alike (same link, master, slaves and TTL) become one assignment; a batch's one statement records its keys
 * (no material), then each assignment is sealed and published, and only once JetStream acknowledged it are
 * the keys handed out. The source keeps no copy: carved bits are zeroed in the lease as they are handed out,
 * and a lease's leftovers when it ages out or the gateway stops.
 */
@Injectable()
export class KeyIssuer implements BeforeApplicationShutdown {
  private readonly logger = new Logger('KeyIssuer');
  private queue: Pending[] = [];
  /** Requests the pool could not cover yet, tried again after POOL_POLL_MS. */
  private short: Pending[] = [];
  private running: Promise<void> | undefined;
  /** Wakes a drain that waits with places free but nothing queued. */
  private arrived: (() => void) | undefined;
  /** Ends when the lease being taken out of the ledger is there: batches carve one at a time. */
  private leasing: Promise<unknown> = Promise.resolve();
  private readonly leases = new Map<string, Lease>();
  /** When each link's shortage was last announced to the key-generators (see announceShortage). */
  private readonly shortageAnnounced = new Map<number, number>();

  constructor(
    private readonly config: DqkdConfig,
    private readonly ledger: Ledger,
    @Inject(BUS) private readonly bus: Bus,
    @Inject(SEALING_IDENTITY) private readonly identity: SealingIdentity,
    @Inject(GATEWAY_OPTIONS) private readonly options: GatewayOptions,
  ) {}

  issue(request: IssueRequest): Promise<Issued> {
    return new Promise((resolve, reject) => {
      this.queue.push({ request, giveUpAt: Date.now() + POOL_WAIT_MS, resolve, reject });
      this.arrived?.();
      this.running ??= this.drain();
    });
  }

  /** Resolves when the next request arrives. */
  private nextArrival(): Promise<void> {
    return new Promise((resolve) => {
      this.arrived = () => {
        this.arrived = undefined;
        resolve();
      };
    });
  }

  /** Lets the batches in the ledger finish, so every request they hold is answered before the bus closes. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.running;
    [...this.leases.keys()].forEach((target) => this.retire(target));
  }

  /** Zeroes what the lease of the link to `target` still holds, and forgets it. */
  private retire(target: string): void {
    const lease = this.leases.get(target);
    if (lease === undefined) return;
    clearTimeout(lease.ageOut);
    lease.material.fill(0);
    lease.encapsulation.sharedSecret.fill(0);
    this.leases.delete(target);
  }

  /** Bytes of the lease of the link to `target` not yet carved into keys (0 without a lease). */
  leasedBytes(target: string): number {
    const lease = this.leases.get(target);
    return lease === undefined ? 0 : (lease.reservation.bits - lease.next) / 8;
  }

  /**
   * Runs batches until no request is left: up to BATCHES_IN_FLIGHT at once, each of what arrived while it
   * waited for its place. Requests only waiting for the pool are retried after a pause.
   */
  private async drain(): Promise<void> {
    // Let the requests that arrive in this turn of the event loop join the first batch.
    await new Promise((resolve) => setImmediate(resolve));
    const inFlight = new Set<Promise<void>>();
    while (this.queue.length > 0 || this.short.length > 0 || inFlight.size > 0) {
      if (inFlight.size >= BATCHES_IN_FLIGHT) {
        await Promise.race(inFlight);
        continue;
      }
      if (this.queue.length === 0 && this.short.length === 0) {
        await Promise.race([...inFlight, this.nextArrival()]);
        continue;
      }
      if (this.queue.length === 0) await new Promise((resolve) => setTimeout(resolve, POOL_POLL_MS));
      else await this.gather();
      const batch = [...this.short, ...this.queue];
      this.queue = [];
      this.short = [];
      const running: Promise<void> = this.runBatch(batch)
        .then(
          (short) => this.keepShort(short),
          (error: unknown) => {
            this.logger.error(`a batch of ${batch.length} enc_keys requests failed: ${describeError(error)}`);
            batch.forEach((pending) => pending.reject(error));
          },
        )
        .finally(() => inFlight.delete(running));
      inFlight.add(running);
    }
    this.running = undefined;
  }

  /** Keeps the requests the pool could not cover for another try, unless they have waited long enough. */
  private keepShort(short: readonly Pending[]): void {
    const now = Date.now();
    for (const pending of short) {
      if (now + POOL_POLL_MS <= pending.giveUpAt) this.short.push(pending);
      else pending.resolve({ ok: false, reason: 'short' });
    }
  }

  /** Waits a millisecond at a time while the queue grows, for at most GATHER_MAX_MS. */
  private async gather(): Promise<void> {
    const until = Date.now() + GATHER_MAX_MS;
    let seen = -1;
    while (this.queue.length > seen && Date.now() < until) {
      seen = this.queue.length;
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  }

  /** Carves, records and publishes one batch; answers the requests the pool could not cover this time. */
  private async runBatch(batch: readonly Pending[]): Promise<Pending[]> {
    const short: Pending[] = [];
    const carved: Carved[] = [];
    try {
      const stay = present(batch, ({ resolve }) => resolve({ ok: false, reason: 'departed' }));
      for (const group of groupAlike(stay)) {
        let members: readonly Pending[] = group;
        while (members.length > 0) {
          const one = await this.carveLeading(members);
          if (one === undefined) {
            short.push(...members);
            break;
          }
          carved.push(one);
          members = members.slice(one.members.length);
        }
      }
      await this.record(carved);
      await Promise.all(carved.map((one) => this.bus.publish(one.subject, one.sealed, { msgId: one.msgId })));
      carved.forEach((one) => this.answer(one));
      return short;
    } finally {
      carved.forEach((one) => one.material.fill(0));
    }
  }

  /**
   * Carves the leading requests from the link's lease, one batch at a time: a batch that needs a fresh lease
   * makes the others wait for it rather than take a second one. Undefined when the pool is short.
   */
  private carveLeading(members: readonly Pending[]): Promise<Carved | undefined> {
    const carved = this.leasing.then(async () => {
      const lease = await this.leaseFor(members);
      return lease === undefined ? undefined : this.carve(lease, members);
    });
    this.leasing = carved.catch(() => undefined);
    return carved;
  }

  /** The link's lease when it still holds the first request, else a fresh one; undefined when short. */
  private async leaseFor(members: readonly Pending[]): Promise<Lease | undefined> {
    const first = members[0]!.request;
    const { targetKmeId } = first;
    const bits = members.reduce((sum, { request }) => sum + request.number * request.size, 0);
    const current = this.leases.get(targetKmeId);
    if (current !== undefined && Date.now() >= current.usableUntil) this.retire(targetKmeId);
    else if (current !== undefined && current.reservation.bits - current.next >= first.number * first.size) {
      return current;
    }
    const linkId = await this.ledger.links.idOf(this.config.kme.id, targetKmeId);
    if (linkId === undefined) return undefined;
    const peer = this.config.network.kme(targetKmeId);
    if (peer === undefined) throw new Error(`${targetKmeId} is not in the network file`);
    // Before the bits are taken, so that nothing can fail between taking them and holding them in the lease
    // (whose material is zeroed when it is retired); outside the transaction, which holds the blocks' locks.
    const encapsulation = encapsulate(peer.sealing.kemPublicKey);
    // The bits as read, for the catch below: the transaction may fail after reading them (at commit).
    let read: Buffer | undefined;
    let taken;
    try {
      taken = await this.ledger.transaction(async (scope) => {
        const reserve = (wanted: number) => scope.reservations.reserve(linkId, wanted, LEASE_MARGIN_MS);
        // A lease if it can, else the whole group, else its first request: one that fits is not held back by
        // alike requests the pool cannot cover with it.
        const firstBits = first.number * first.size;
        let reserved = await reserve(Math.max(LEASE_BITS, bits));
        if (!reserved.ok && bits < LEASE_BITS) reserved = await reserve(bits);
        if (!reserved.ok && firstBits < bits) reserved = await reserve(firstBits);
        if (!reserved.ok) return undefined;
        const material = await scope.blocks.takeBits(reserved.reservation.segments);
        if (material === undefined) throw new Error(`reserved blocks of link ${linkId} hold no material`);
        read = material;
        return { reserved, material };
      });
    } catch (error) {
      // They stay in the ledger, and this copy goes.
      read?.fill(0);
      encapsulation.sharedSecret.fill(0);
      throw error;
    }
    if (taken === undefined) {
      encapsulation.sharedSecret.fill(0);
      // Not awaited: the batches of every link take their leases one after another (see carveLeading).
      void this.announceShortage(linkId, bits);
      return undefined;
    }
    const { reserved, material } = taken;
    const usableUntil = Math.min(
      Date.now() + (this.options.leaseMaxAgeMs ?? LEASE_MAX_AGE_MS),
      reserved.expiresAt.getTime() - LEASE_MARGIN_MS,
    );
    // What the old lease still holds is too little for these requests; it is given up, not kept in memory.
    this.retire(targetKmeId);
    const ageOut = setTimeout(() => {
      if (this.leases.get(targetKmeId) === lease) this.retire(targetKmeId);
    }, usableUntil - Date.now());
    // A lease must not keep a stopping gateway alive; shutdown retires it anyway.
    ageOut.unref();
    const lease: Lease = {
      linkId,
      reservation: reserved.reservation,
      material,
      usableUntil,
      encapsulation,
      next: 0,
      ageOut,
    };
    this.leases.set(targetKmeId, lease);
    return lease;
  }

  /**
   * Above its low watermark a pool is not refilled, and a request larger than what it holds might never fit
   * otherwise; said again at most every SHORTAGE_REPEAT_MS per link while requests keep finding it short.
   */
  private async announceShortage(linkId: number, bits: number): Promise<void> {
    const now = Date.now();
    if (now - (this.shortageAnnounced.get(linkId) ?? 0) < SHORTAGE_REPEAT_MS) return;
    this.shortageAnnounced.set(linkId, now);
    // A hint: the request waits for the pool all the same, so a failure here must not fail its batch.
    await this.ledger.announceShortage(linkId, bits).catch((error: unknown) => {
      this.logger.warn(
        `could not tell the key-generators that link ${linkId} is short: ${describeError(error)}`,
      );
    });
  }

  /**
   * One assignment of the leading requests the lease can hold (at least the first, see leaseFor); a request
   * is never split across leases. Carved bits are moved out of the lease and zeroed there.
   */
  private carve(lease: Lease, members: readonly Pending[]): Carved {
    const fitting: Pending[] = [];
    let bits = 0;
    for (const pending of members) {
      const { number, size } = pending.request;
      if (lease.next + bits + number * size > lease.reservation.bits) break;
      fitting.push(pending);
      bits += number * size;
    }
    const start = lease.next;
    const { request } = fitting[0]!;
    const keys: { keyId: string; offset: number; size: number }[] = [];
    let offset = start;
    for (const { request: each } of fitting) {
      for (let i = 0; i < each.number; i++, offset += each.size) {
        keys.push({ keyId: randomUUID(), offset, size: each.size });
      }
    }
    const now = Date.now();
    const assignment: Assignment = {
      reservation: {
        id: lease.reservation.id,
        linkSource: this.config.kme.id,
        linkTarget: request.targetKmeId,
        bits: lease.reservation.bits,
        segments: lease.reservation.segments,
      },
      keys,
      masterSaeId: request.masterSaeId,
      slaves: request.slaves,
      expiresAt: new Date(now + request.ttlSeconds * 1000),
      issuedAt: new Date(now),
    };
    // All that can throw comes before the bits leave the lease: no copy of them is then left unzeroed.
    const sealed = Buffer.from(sealAssignment(assignment, this.identity.sigSecretKey, lease.encapsulation));
    const subject = assignmentSubject(this.config.kme.id, request.targetKmeId, {
      prefix: this.options.subjectPrefix,
    });
    const msgId = assignmentMessageId(assignment);
    const material = Buffer.from(lease.material.subarray(start / 8, (start + bits) / 8));
    lease.material.fill(0, start / 8, (start + bits) / 8);
    lease.next += bits;
    return { linkId: lease.linkId, members: fitting, assignment, material, subject, msgId, sealed };
  }

  /**
   * Records the batch's keys at the source, who may fetch them and until when, never their material: one
   * statement, so all or nothing. A bus that keeps nothing across a crash gets the sealed assignments kept in
   * the outbox by the same statement: keys handed to a master must reach the target after a crash too.
   */
  private async record(carved: readonly Carved[]): Promise<void> {
    const sent = this.bus.durable
      ? []
      : carved.map(({ subject, msgId, sealed }) => ({ subject, msgId, payload: sealed }));
    await this.ledger.keys.record(
      carved.flatMap(({ linkId, assignment }) =>
        assignment.keys.map((key) => ({
          keyId: key.keyId,
          linkId,
          masterSaeId: assignment.masterSaeId,
          size: key.size,
          reservationId: assignment.reservation.id,
          offset: key.offset,
          expiresAt: assignment.expiresAt,
          slaves: assignment.slaves,
        })),
      ),
      { sent },
    );
  }

  /** Hands each request its keys, in the order they were carved. */
  private answer({ members, assignment, material }: Carved): void {
    const start = assignment.keys[0]!.offset;
    let next = 0;
    for (const { request, resolve } of members) {
      const keys = assignment.keys.slice(next, next + request.number).map((key) => ({
        keyId: key.keyId,
        material: Buffer.from(
          material.subarray((key.offset - start) / 8, (key.offset - start + key.size) / 8),
        ),
      }));
      next += request.number;
      resolve({ ok: true, keys, expiresAt: assignment.expiresAt });
    }
  }
}

/** The batch's requests in groups that can share an assignment: same link, master, slaves and TTL. */
function groupAlike(batch: readonly Pending[]): Pending[][] {
  const done: Pending[][] = [];
  const open = new Map<string, { members: Pending[]; bits: number }>();
  for (const pending of batch) {
    const { targetKmeId, masterSaeId, slaves, ttlSeconds, number, size } = pending.request;
    const key = JSON.stringify([targetKmeId, masterSaeId, slaves, ttlSeconds]);
    let group = open.get(key);
    if (group !== undefined && group.bits + number * size > MAX_GROUP_BITS) {
      done.push(group.members);
      group = undefined;
    }
    if (group === undefined) {
      group = { members: [], bits: 0 };
      open.set(key, group);
    }
    group.members.push(pending);
    group.bits += number * size;
  }
  return [...done, ...[...open.values()].map((each) => each.members)];
}
