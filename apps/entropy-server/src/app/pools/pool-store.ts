import { randomUUID } from 'node:crypto';

import type { SampleRef } from '@dqkd/blast';

import { LeaseRate } from './lease-rate';
import { SampleRefusal } from './sample-refusal';

interface Lease {
  /** The KME that leased it, whose share of unread samples it counts in until it is zeroed. */
  readonly caller: string;
  readonly length: number;
  readonly readers: readonly string[];
  readonly readBy: Set<string>;
  readonly notAfter: number;
  zeroed: boolean;
}

interface Pool {
  readonly id: string;
  readonly createdAt: number;
  readonly shredAt: number;
  readonly bytes: Uint8Array;
  /** Bytes before this offset have been leased; they are never handed out again. */
  next: number;
  zeroedBytes: number;
  readonly leases: Map<number, Lease>;
}

export interface PoolStoreOptions {
  readonly serverId: string;
  /** From a pool's creation to its shredding (at most one hour). */
  readonly lifetimeMs: number;
  /** The size of each pool: a larger lease could never be served, so it is refused as invalid. */
  readonly poolBytes: number;
  /**
   * Pool bytes held at most (see canAddPool). One KME's samples not yet zeroed may take a quarter of them: a
   * KME that leases without ever letting its samples be read twice holds its share until their deadlines, not
   * the others'.
   */
  readonly memoryBytes: number;
  /** Bytes one KME may lease a second (see LeaseRate). */
  readonly leaseRateBytes: number;
  /** Told of every overwrite of bytes that still held random data: after a second read, at a deadline. */
  readonly onShred?: (bytes: number) => void;
}

export interface LeaseRequest {
  readonly caller: string;
  readonly bytes: number;
  readonly readers: readonly string[];
  /** UTC ms. */
  readonly deadline: number;
}

export interface SampleLocation {
  readonly poolId: string;
  readonly offset: number;
  readonly length: number;
}

/** A copy of a sample's bytes with its reference; the copy is the caller's to seal and zero. */
export interface ServedSample {
  readonly ref: SampleRef;
  readonly bytes: Uint8Array;
}

/**
 * The pools of one entropy server: pure bookkeeping over buffers the source filled, with the clock
 * passed in. Each sample is leased once, read at most once more by the other listed reader, and
 * overwritten with zeros after its second read or at its deadline; a pool is overwritten whole and
 * dropped at its shred deadline.
 */
export class PoolStore {
  private readonly pools: Pool[] = [];
  /** Shred deadlines of dropped pools, so a late read hears "expired" rather than "unknown". */
  private readonly shredded = new Map<string, number>();
  /** The largest lease asked for so far: a pool with less left than this cannot serve the next one. */
  private largestLease = 1;
  /** Per KME, bytes of its leases not yet zeroed. */
  private readonly unzeroed = new Map<string, number>();
  /** Per KME, records of its leases still kept (zeroed ones too, until their pool is dropped). */
  private readonly records = new Map<string, number>();
  private readonly rate: LeaseRate;

  constructor(private readonly options: PoolStoreOptions) {
    this.rate = new LeaseRate(options.leaseRateBytes, options.poolBytes);
  }

  /** Whether another pool fits within the memory the pools may hold. */
  canAddPool(): boolean {
    return (this.pools.length + 1) * this.options.poolBytes <= this.options.memoryBytes;
  }

  /** Takes ownership of freshly filled bytes as a new pool. */
  addPool(bytes: Uint8Array, now: number): string {
    const pool: Pool = {
      id: randomUUID(),
      createdAt: now,
      shredAt: now + this.options.lifetimeMs,
      bytes,
      next: 0,
      zeroedBytes: 0,
      leases: new Map(),
    };
    this.pools.push(pool);
    return pool.id;
  }

  /**
   * First read. Takes the next unused bytes of the oldest pool that lives until the deadline, or else of the
   * youngest pool with room, whose shred deadline then shortens the lease's `notAfter`; never of a pool with
   * less than MIN_LEASE_LIFE_MS left (or what the lease asks, or half a pool's life, when shorter).
   */
  lease(request: LeaseRequest, now: number): ServedSample {
    const problem = leaseProblem(request, now, this.options.poolBytes);
    if (problem) throw new SampleRefusal('invalid-request', problem);
    const held = this.unzeroed.get(request.caller) ?? 0;
    const share = Math.floor(this.options.memoryBytes / 4);
    if (held + request.bytes > share) {
      throw new SampleRefusal(
        'exhausted',
        `${request.caller} holds ${held} bytes of samples not yet read by both readers, of the ${share} one KME may`,
      );
    }
    const kept = this.records.get(request.caller) ?? 0;
    const maxRecords = Math.max(MIN_RECORDS_PER_KME, Math.floor(share / RECORD_BYTES));
    if (kept >= maxRecords) {
      throw new SampleRefusal(
        'exhausted',
        `${request.caller} holds ${kept} lease records, the most one KME may, until their pools are dropped`,
      );
    }
    const waitMs = this.rate.waitMs(request.caller, request.bytes, now);
    if (waitMs > 0) {
      throw new SampleRefusal(
        'rate-limited',
        `${request.caller} leases more than the ${this.options.leaseRateBytes} bytes a second one KME may; ` +
          `this lease in ${waitMs} ms at the earliest`,
      );
    }
    this.largestLease = Math.max(this.largestLease, request.bytes);
    // Not from a pool about to be shredded: its shred deadline cuts the lease's, and the other reader's read
    // then comes too late, burning the block after every other server's sample was taken for it.
    const minLife = Math.min(MIN_LEASE_LIFE_MS, request.deadline - now, this.options.lifetimeMs / 2);
    const open = this.pools.filter(
      (pool) => pool.shredAt - now >= minLife && pool.bytes.length - pool.next >= request.bytes,
    );
    const pool =
      open.find((candidate) => candidate.shredAt >= request.deadline) ??
      open.reduce<Pool | undefined>(
        (best, each) => (!best || each.shredAt > best.shredAt ? each : best),
        undefined,
      );
    if (!pool) {
      throw new SampleRefusal(
        'exhausted',
        `no pool has ${request.bytes} unused bytes for ${minLife} ms more; refilling`,
      );
    }
    const offset = pool.next;
    pool.next += request.bytes;
    const lease: Lease = {
      caller: request.caller,
      length: request.bytes,
      readers: [...request.readers],
      readBy: new Set([request.caller]),
      notAfter: Math.min(request.deadline, pool.shredAt),
      zeroed: false,
    };
    pool.leases.set(offset, lease);
    this.unzeroed.set(request.caller, held + request.bytes);
    this.records.set(request.caller, kept + 1);
    this.rate.take(request.caller, request.bytes, now);
    return { ref: this.refOf(pool, offset, lease), bytes: pool.bytes.slice(offset, offset + lease.length) };
  }

  /**
   * Second read: only by a listed reader that has not read yet, only before the deadline, and only of a
   * sample `leasedBy` leased: a target reads for the source its metadata names, so a KME cannot have it read
   * (and use up) samples another KME leased for a link to the same target. Undefined from KMEs of earlier
   * versions.
   */
  read(caller: string, location: SampleLocation, now: number, leasedBy: string | undefined): ServedSample {
    const pool = this.pools.find((each) => each.id === location.poolId);
    if (!pool) {
      if (this.shredded.has(location.poolId)) throw new SampleRefusal('expired', 'the sample was shredded');
      throw new SampleRefusal('unknown', 'no such sample');
    }
    const lease = pool.leases.get(location.offset);
    // A KME that is not a reader hears what it would of a sample that does not exist: told apart, its
    // refusals would map where other links' samples lie in the pools it shares with them, and when.
    if (
      !lease ||
      lease.length !== location.length ||
      !lease.readers.includes(caller) ||
      (leasedBy !== undefined && lease.caller !== leasedBy)
    ) {
      throw new SampleRefusal('unknown', 'no such sample');
    }
    if (now >= lease.notAfter || pool.shredAt <= now) {
      this.zeroLease(pool, location.offset, lease);
      throw new SampleRefusal('expired', 'the sample was shredded at its deadline');
    }
    if (lease.readBy.has(caller)) throw new SampleRefusal('already-read', `${caller} has read this sample`);
    lease.readBy.add(caller);
    const bytes = pool.bytes.slice(location.offset, location.offset + lease.length);
    if (lease.readers.every((reader) => lease.readBy.has(reader)))
      this.zeroLease(pool, location.offset, lease);
    return { ref: this.refOf(pool, location.offset, lease), bytes };
  }

  /**
   * Zeroes every sample past its deadline and every pool past its shred deadline (which is then
   * dropped), and drops a pool whose leases were all zeroed once no lease fits in the rest; returns how many
   * bytes were overwritten that still held random data.
   */
  shred(now: number): number {
    let bytes = 0;
    for (const pool of [...this.pools]) {
      if (pool.shredAt <= now) {
        const remaining = pool.bytes.length - pool.zeroedBytes;
        bytes += remaining;
        this.options.onShred?.(remaining);
        for (const lease of pool.leases.values()) if (!lease.zeroed) this.unshare(lease);
        pool.bytes.fill(0);
        this.drop(pool);
        continue;
      }
      for (const [offset, lease] of pool.leases) {
        if (lease.notAfter <= now) bytes += this.zeroLease(pool, offset, lease);
      }
      // Nothing left to read, and what was never leased is too short for the largest lease: its memory goes
      // now rather than at its shred deadline. Leases are whole samples, so most pools keep such a tail (one
      // of 1 MiB serves 30 samples of a 256 kbit block); waiting for every byte to be leased kept them all an
      // hour, and the memory filled up.
      const tail = pool.bytes.length - pool.next;
      if (pool.zeroedBytes === pool.next && tail < this.largestLease) {
        pool.bytes.fill(0, pool.next);
        if (tail > 0) this.options.onShred?.(tail);
        bytes += tail;
        this.drop(pool);
      }
    }
    // A dropped pool's ID stays known for one more lifetime: long after any reference to it expired.
    for (const [id, shredAt] of this.shredded) {
      if (shredAt + this.options.lifetimeMs <= now) this.shredded.delete(id);
    }
    return bytes;
  }

  /** Overwrites and drops every pool, as at shutdown; returns the bytes overwritten. */
  shredAll(): number {
    return this.shred(Number.MAX_SAFE_INTEGER);
  }

  /** Unleased bytes of the pools that are still alive. */
  availableBytes(now: number): number {
    return this.pools
      .filter((pool) => pool.shredAt > now)
      .reduce((sum, pool) => sum + pool.bytes.length - pool.next, 0);
  }

  /**
   * Pools with room for the largest lease asked for so far and at least half their life ahead: what refilling
   * keeps up. (Counting a pool with a few bytes left as fresh would stop refilling while every lease is
   * refused.)
   */
  freshPools(now: number): number {
    const half = this.options.lifetimeMs / 2;
    return this.pools.filter(
      (pool) => pool.bytes.length - pool.next >= this.largestLease && pool.shredAt - now >= half,
    ).length;
  }

  poolIds(): string[] {
    return this.pools.map((pool) => pool.id);
  }

  private zeroLease(pool: Pool, offset: number, lease: Lease): number {
    if (lease.zeroed) return 0;
    pool.bytes.fill(0, offset, offset + lease.length);
    lease.zeroed = true;
    pool.zeroedBytes += lease.length;
    this.unshare(lease);
    this.options.onShred?.(lease.length);
    return lease.length;
  }

  /** Takes a lease whose bytes are being zeroed off its KME's share of unread samples. */
  private unshare(lease: Lease): void {
    const left = (this.unzeroed.get(lease.caller) ?? 0) - lease.length;
    if (left > 0) this.unzeroed.set(lease.caller, left);
    else this.unzeroed.delete(lease.caller);
  }

  /** Forgets a pool whose bytes are all zero; a late read of it hears "expired". */
  private drop(pool: Pool): void {
    for (const { caller } of pool.leases.values()) {
      const left = (this.records.get(caller) ?? 0) - 1;
      if (left > 0) this.records.set(caller, left);
      else this.records.delete(caller);
    }
    pool.leases.clear();
    this.pools.splice(this.pools.indexOf(pool), 1);
    this.shredded.set(pool.id, pool.shredAt);
  }

  private refOf(pool: Pool, offset: number, lease: Lease): SampleRef {
    return {
      serverId: this.options.serverId,
      poolId: pool.id,
      offset,
      length: lease.length,
      notAfter: lease.notAfter,
    };
  }
}

/**
 * The smallest lease served. Every lease costs a record besides its bytes, so leases of a few bytes would
 * let a KME make a server hold many times a pool's size in records; any BLAST sample is longer (52 bytes
 * for the smallest block a network file allows, 256 bits).
 */
export const MIN_LEASE_BYTES = 32;

/**
 * The least life a lease's pool must have left (or all the lease asked for, or half a pool's life when that
 * is shorter): the other reader reads within moments of the metadata's arrival, and a minute covers a lagging
 * replication, while a pool shredded sooner leaves samples that burn their block unread.
 */
export const MIN_LEASE_LIFE_MS = 60_000;

/**
 * What a lease record costs in memory, about (its object, readers, read-by set and map entry): a KME may keep
 * as many records as its share of unread bytes would hold at this size. Records outlive their bytes until the
 * pool goes (a pool with one long lease in it stays to its shred deadline), so without this bound a KME
 * leasing the smallest samples and letting them expire could hold millions and exhaust the server's heap.
 */
const RECORD_BYTES = 256;
/** Records any KME may keep however small the pool memory: a test server's few kilobytes still serve a link. */
const MIN_RECORDS_PER_KME = 1024;

function leaseProblem(request: LeaseRequest, now: number, poolBytes: number): string | undefined {
  if (!Number.isSafeInteger(request.bytes) || request.bytes < MIN_LEASE_BYTES) {
    return `bytes must be an integer of at least ${MIN_LEASE_BYTES}`;
  }
  // Refused before it counts as the largest lease asked for: no pool could ever count as fresh again.
  if (request.bytes > poolBytes) return `bytes must be at most ${poolBytes}, the size of this server's pools`;
  if (request.readers.length !== 2 || request.readers[0] === request.readers[1]) {
    return 'readers must name the two KMEs of a link';
  }
  if (!request.readers.includes(request.caller)) return 'the leasing KME must be one of the readers';
  if (!Number.isSafeInteger(request.deadline) || request.deadline <= now)
    return 'not_after must be in the future';
  return undefined;
}
