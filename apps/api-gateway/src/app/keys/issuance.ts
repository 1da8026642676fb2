import { randomUUID } from 'node:crypto';

import { DqkdConfig } from '@dqkd/config';
import { Ledger, type LedgerScope, type Slave } from '@dqkd/ledger';
import {
  assignmentMessageId,
  assignmentSubject,
  BUS,
  sealAssignment,
  type Assignment,
  type Bus,
} from '@dqkd/messaging';
import type { SealingIdentity } from '@dqkd/pki';
import { Inject, Injectable, Logger, type BeforeApplicationShutdown } from '@nestjs/common';

import { GATEWAY_OPTIONS, type GatewayOptions } from '../gateway-options';
import { SEALING_IDENTITY } from './sealing';

/** How long a request waits for the key-generator when the ready pool cannot cover it (issue 4: 2 s). */
const POOL_WAIT_MS = 2_000;
/** Pause before a batch that only holds requests waiting for the pool. */
const POOL_POLL_MS = 25;
/** Alike requests share a reservation up to this many bits, so one large request cannot hold up the others. */
const MAX_GROUP_BITS = 1 << 20;

/** One enc_keys request, checked and addressed: what the source needs to carve and announce its keys. */
export interface IssueRequest {
  readonly targetKmeId: string;
  readonly masterSaeId: string;
  readonly slaves: readonly Slave[];
  readonly number: number;
  readonly size: number;
  readonly ttlSeconds: number;
}

export interface IssuedKey {
  readonly keyId: string;
  readonly material: Buffer;
}

/** Keys with their deadline, or `short` when the ready pool could not cover the request within POOL_WAIT_MS. */
export type Issued =
  | { readonly ok: true; readonly keys: readonly IssuedKey[]; readonly expiresAt: Date }
  | { readonly ok: false; readonly reason: 'short' };

interface Pending {
  readonly request: IssueRequest;
  readonly giveUpAt: number;
  readonly resolve: (issued: Issued) => void;
  readonly reject: (error: unknown) => void;
}

/** Requests of one batch that become one reservation and one sealed assignment: same link, master, slaves, TTL. */
interface Group {
  readonly members: Pending[];
  readonly bits: number;
}

interface Carved {
  readonly group: Group;
  readonly assignment: Assignment;
  readonly material: Buffer;
  readonly subject: string;
  readonly msgId: string;
  readonly sealed: Buffer;
}

/**
 * enc_keys at the source, as group commits: requests that arrive while a batch is in the ledger wait for
 * the next one, and each batch is one transaction. Requests alike (same link, master, slaves and TTL)
 * share one reservation, one sealed assignment and one JetStream publish, so under load the ledger, the
 * sealing and the broker work per batch, not per request or per key. Within the transaction the bits are
 * reserved, taken out of the ledger (zeroed there), the keys recorded without material and the sealed
 * assignments put in the outbox; after commit the assignments are published, and only once JetStream
 * acknowledged them are the keys handed out. The source keeps no copy.
 */
@Injectable()
export class KeyIssuer implements BeforeApplicationShutdown {
  private readonly logger = new Logger('KeyIssuer');
  private queue: Pending[] = [];
  private running: Promise<void> | undefined;
  private readonly linkIds = new Map<string, number>();

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
      this.running ??= this.drain();
    });
  }

  /** Lets the batch in the ledger finish, so every request it holds is answered before the bus closes. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.running;
  }

  /** Runs batches until the queue is empty; requests only waiting for the pool are retried after a pause. */
  private async drain(): Promise<void> {
    // Let the requests that arrive in this turn of the event loop join the first batch.
    await new Promise((resolve) => setImmediate(resolve));
    let short: Pending[] = [];
    while (this.queue.length > 0 || short.length > 0) {
      if (this.queue.length === 0) await new Promise((resolve) => setTimeout(resolve, POOL_POLL_MS));
      const batch = [...short, ...this.queue];
      this.queue = [];
      short = [];
      try {
        short = await this.runBatch(batch);
      } catch (error) {
        this.logger.error(`a batch of ${batch.length} enc_keys requests failed: ${describe(error)}`);
        batch.forEach((pending) => pending.reject(error));
      }
      const now = Date.now();
      short = short.filter((pending) => {
        if (now + POOL_POLL_MS <= pending.giveUpAt) return true;
        pending.resolve({ ok: false, reason: 'short' });
        return false;
      });
    }
    this.running = undefined;
  }

  /** One transaction for the whole batch; answers the requests the pool could not cover this time. */
  private async runBatch(batch: readonly Pending[]): Promise<Pending[]> {
    const groups = groupAlike(batch);
    const short: Pending[] = [];
    const carved = await this.ledger.transaction(async (scope) => {
      const done: Carved[] = [];
      try {
        for (const group of groups) {
          const one = await this.carve(scope, group);
          if (one === undefined) short.push(...group.members);
          else done.push(one);
        }
        return done;
      } catch (error) {
        done.forEach((one) => one.material.fill(0));
        throw error;
      }
    });
    try {
      await Promise.all(carved.map((one) => this.bus.publish(one.subject, one.sealed, { msgId: one.msgId })));
    } catch (error) {
      carved.forEach((one) => one.material.fill(0));
      throw error;
    }
    for (const one of carved) this.answer(one);
    // The outbox row only matters if this process dies before the publish; marking it is off the answer's path.
    this.ledger.outbox
      .markPublishedByMsgIds(carved.map((one) => one.msgId))
      .catch((error: unknown) => this.logger.warn(`outbox not marked published: ${describe(error)}`));
    return short;
  }

  /** Reserves and takes the group's bits and records its keys and assignment; undefined when the pool is short. */
  private async carve(scope: LedgerScope, group: Group): Promise<Carved | undefined> {
    const { request } = group.members[0]!;
    const { kme } = this.config;
    const linkId = await this.linkId(request.targetKmeId);
    if (linkId === undefined) return undefined;
    const reserved = await scope.reservations.reserve(linkId, group.bits);
    if (!reserved.ok) return undefined;
    const material = await scope.blocks.takeBits(reserved.reservation.segments);
    if (material === undefined) throw new Error(`reserved blocks of link ${linkId} hold no material`);
    try {
      const expiresAt = new Date(Date.now() + request.ttlSeconds * 1000);
      const keys: { keyId: string; offset: number; size: number }[] = [];
      let offset = 0;
      for (const { request: each } of group.members) {
        for (let i = 0; i < each.number; i++, offset += each.size) {
          keys.push({ keyId: randomUUID(), offset, size: each.size });
        }
      }
      const assignment: Assignment = {
        reservation: {
          id: reserved.reservation.id,
          linkSource: kme.id,
          linkTarget: request.targetKmeId,
          bits: reserved.reservation.bits,
          segments: reserved.reservation.segments,
        },
        keys,
        masterSaeId: request.masterSaeId,
        slaves: request.slaves,
        expiresAt,
      };
      await scope.keys.record(
        keys.map((key) => ({
          keyId: key.keyId,
          linkId,
          masterSaeId: request.masterSaeId,
          size: key.size,
          reservationId: assignment.reservation.id,
          offset: key.offset,
          expiresAt,
          slaves: request.slaves,
        })),
      );
      const peer = this.config.network.kme(request.targetKmeId);
      if (peer === undefined) throw new Error(`${request.targetKmeId} is not in the network file`);
      const subject = assignmentSubject(kme.id, request.targetKmeId, { prefix: this.options.subjectPrefix });
      const msgId = assignmentMessageId(assignment.reservation.id);
      const sealed = Buffer.from(
        sealAssignment(assignment, this.identity.sigSecretKey, peer.sealing.kemPublicKey),
      );
      await scope.outbox.append(subject, msgId, sealed);
      return { group, assignment, material, subject, msgId, sealed };
    } catch (error) {
      material.fill(0);
      throw error;
    }
  }

  /** Hands each request of the group its keys, in the order they were carved, and zeroes the group's copy. */
  private answer({ group, assignment, material }: Carved): void {
    let next = 0;
    for (const { request, resolve } of group.members) {
      const keys = assignment.keys.slice(next, next + request.number).map((key) => ({
        keyId: key.keyId,
        material: Buffer.from(material.subarray(key.offset / 8, (key.offset + key.size) / 8)),
      }));
      next += request.number;
      resolve({ ok: true, keys, expiresAt: assignment.expiresAt });
    }
    material.fill(0);
  }

  private async linkId(targetKmeId: string): Promise<number | undefined> {
    let id = this.linkIds.get(targetKmeId);
    if (id === undefined) {
      id = (await this.ledger.links.find(this.config.kme.id, targetKmeId))?.id;
      if (id !== undefined) this.linkIds.set(targetKmeId, id);
    }
    return id;
  }
}

function groupAlike(batch: readonly Pending[]): Group[] {
  const done: Group[] = [];
  const open = new Map<string, { members: Pending[]; bits: number }>();
  for (const pending of batch) {
    const { targetKmeId, masterSaeId, slaves, ttlSeconds, number, size } = pending.request;
    const key = JSON.stringify([targetKmeId, masterSaeId, slaves, ttlSeconds]);
    let group = open.get(key);
    if (group !== undefined && group.bits + number * size > MAX_GROUP_BITS) {
      done.push(group);
      group = undefined;
    }
    if (group === undefined) {
      group = { members: [], bits: 0 };
      open.set(key, group);
    }
    group.members.push(pending);
    group.bits += number * size;
  }
  return [...done, ...open.values()];
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
