import { randomBytes } from 'node:crypto';

import { MIN_LEASE_BYTES, MIN_LEASE_LIFE_MS, PoolStore } from './pool-store';
import { SampleRefusal } from './sample-refusal';

const HOUR = 3_600_000;
const POOL_BYTES = 1024;
/** Eight pools; a quarter of it, two pools' worth, is one KME's share of unread samples. */
const MEMORY = 8 * POOL_BYTES;
const T0 = 1_700_000_000_000;
/** Too fast to hold back any test but the rate's own. */
const NO_RATE_LIMIT = 2 ** 40;
const link = ['kme-east', 'kme-west'];

function refusalOf(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    if (error instanceof SampleRefusal) return error.reason;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('PoolStore', () => {
  let store: PoolStore;
  let pool: Uint8Array;

  beforeEach(() => {
    store = new PoolStore({
      serverId: 'entropy-1',
      lifetimeMs: HOUR,
      poolBytes: POOL_BYTES,
      memoryBytes: MEMORY,
      leaseRateBytes: NO_RATE_LIMIT,
    });
    pool = new Uint8Array(randomBytes(POOL_BYTES));
    store.addPool(pool, T0);
  });

  const lease = (bytes = 100, deadline = T0 + 60_000, caller = 'kme-east') =>
    store.lease({ caller, bytes, readers: link, deadline }, T0);

  describe('lease', () => {
    it('hands out the next unused bytes of a pool, never the same bytes twice', () => {
      const first = lease();
      const second = lease();
      expect(first.ref).toMatchObject({
        serverId: 'entropy-1',
        offset: 0,
        length: 100,
        notAfter: T0 + 60_000,
      });
      expect(second.ref.offset).toBe(100);
      expect(Buffer.from(first.bytes)).toEqual(Buffer.from(pool.subarray(0, 100)));
      expect(Buffer.from(second.bytes)).toEqual(Buffer.from(pool.subarray(100, 200)));
      expect(store.availableBytes(T0)).toBe(824);
    });

    it("shortens the deadline to the pool's shred deadline", () => {
      expect(lease(100, T0 + 2 * HOUR).ref.notAfter).toBe(T0 + HOUR);
    });

    it('leases from no pool with less than a minute left, unless the lease asks for less', () => {
      const late = T0 + HOUR - 10;
      expect(
        refusalOf(() =>
          store.lease({ caller: 'kme-east', bytes: 100, readers: link, deadline: late + 300_000 }, late),
        ),
      ).toBe('exhausted');
      const asked = T0 + HOUR - MIN_LEASE_LIFE_MS;
      expect(
        store.lease({ caller: 'kme-east', bytes: 100, readers: link, deadline: asked + 300_000 }, asked).ref
          .notAfter,
      ).toBe(T0 + HOUR);
      // A short lease is served from it while its deadline falls before the pool's.
      expect(
        store.lease({ caller: 'kme-east', bytes: 100, readers: link, deadline: late + 5 }, late).ref.notAfter,
      ).toBe(late + 5);
    });

    it('refuses when no pool has enough unused bytes', () => {
      lease(1000);
      expect(refusalOf(() => lease(100))).toBe('exhausted');
    });

    it('refuses readers that are not the two KMEs of a link including the caller', () => {
      expect(
        refusalOf(() =>
          store.lease({ caller: 'kme-east', bytes: 64, readers: ['kme-east'], deadline: T0 + 1 }, T0),
        ),
      ).toBe('invalid-request');
      expect(refusalOf(() => lease(64, T0 + 1, 'kme-north'))).toBe('invalid-request');
      expect(refusalOf(() => lease(64, T0))).toBe('invalid-request');
    });

    it('refuses a lease shorter than MIN_LEASE_BYTES, and serves one of that length', () => {
      expect(refusalOf(() => lease(MIN_LEASE_BYTES - 1))).toBe('invalid-request');
      expect(refusalOf(() => lease(1))).toBe('invalid-request');
      expect(lease(MIN_LEASE_BYTES).bytes).toHaveLength(MIN_LEASE_BYTES);
      expect(store.availableBytes(T0)).toBe(POOL_BYTES - MIN_LEASE_BYTES);
    });
  });

  describe('read', () => {
    it('gives the other reader the same bytes once, then zeroes them in the pool', () => {
      const leased = lease();
      const read = store.read('kme-west', leased.ref, T0 + 1, 'kme-east');
      expect(Buffer.from(read.bytes)).toEqual(Buffer.from(leased.bytes));
      expect(pool.subarray(0, 100).every((byte) => byte === 0)).toBe(true);
    });

    it('refuses a third read and a repeated read as already read', () => {
      const { ref } = lease();
      expect(refusalOf(() => store.read('kme-east', ref, T0 + 1, 'kme-east'))).toBe('already-read');
      store.read('kme-west', ref, T0 + 1, 'kme-east');
      expect(refusalOf(() => store.read('kme-west', ref, T0 + 2, 'kme-east'))).toBe('already-read');
    });

    it('refuses a KME that is not a listed reader as it would a sample that does not exist', () => {
      const { ref } = lease();
      expect(refusalOf(() => store.read('kme-north', ref, T0 + 1, 'kme-east'))).toBe('unknown');
      expect(
        refusalOf(() => store.read('kme-north', { ...ref, offset: ref.offset + 1 }, T0 + 1, 'kme-east')),
      ).toBe('unknown');
    });

    it('refuses a reader that names another lessee as it would an unknown sample, and leaves it readable', () => {
      const { ref, bytes } = lease();
      // kme-north's metadata naming kme-east's sample: kme-west reads for kme-north.
      expect(refusalOf(() => store.read('kme-west', ref, T0 + 1, 'kme-north'))).toBe('unknown');
      expect(Buffer.from(store.read('kme-west', ref, T0 + 1, 'kme-east').bytes)).toEqual(Buffer.from(bytes));
    });

    it('answers a reader that names no lessee (a KME of an earlier version), as before', () => {
      const { ref, bytes } = lease();
      expect(Buffer.from(store.read('kme-west', ref, T0 + 1, undefined).bytes)).toEqual(Buffer.from(bytes));
    });

    it('refuses a read at or after the deadline and zeroes the sample', () => {
      const { ref } = lease(100, T0 + 1000);
      expect(refusalOf(() => store.read('kme-west', ref, T0 + 1000, 'kme-east'))).toBe('expired');
      expect(pool.subarray(0, 100).every((byte) => byte === 0)).toBe(true);
    });

    it('refuses a reference it never handed out as unknown', () => {
      const { ref } = lease();
      expect(refusalOf(() => store.read('kme-west', { ...ref, offset: 1 }, T0, 'kme-east'))).toBe('unknown');
      expect(refusalOf(() => store.read('kme-west', { ...ref, length: 99 }, T0, 'kme-east'))).toBe('unknown');
      expect(refusalOf(() => store.read('kme-west', { ...ref, poolId: 'other' }, T0, 'kme-east'))).toBe(
        'unknown',
      );
    });
  });

  describe('shred', () => {
    it('zeroes a sample at its deadline without touching the rest of the pool', () => {
      lease(100, T0 + 1000);
      const untouched = Buffer.from(pool.subarray(100));
      expect(store.shred(T0 + 1000)).toBe(100);
      expect(pool.subarray(0, 100).every((byte) => byte === 0)).toBe(true);
      expect(Buffer.from(pool.subarray(100))).toEqual(untouched);
    });

    it('overwrites the whole pool with zeros and drops it at its shred deadline', () => {
      const { ref } = lease();
      expect(store.shred(T0 + HOUR)).toBe(1024);
      expect(pool.every((byte) => byte === 0)).toBe(true);
      expect(store.poolIds()).toEqual([]);
      expect(store.availableBytes(T0 + HOUR)).toBe(0);
      expect(refusalOf(() => store.read('kme-west', ref, T0 + HOUR, 'kme-east'))).toBe('expired');
    });

    it('counts bytes already zeroed after their second read only once', () => {
      const shreds: number[] = [];
      store = new PoolStore({
        serverId: 'entropy-1',
        lifetimeMs: HOUR,
        poolBytes: POOL_BYTES,
        memoryBytes: MEMORY,
        leaseRateBytes: NO_RATE_LIMIT,
        onShred: (bytes) => shreds.push(bytes),
      });
      store.addPool(pool, T0);
      const { ref } = lease();
      store.read('kme-west', ref, T0 + 1, 'kme-east');
      expect(store.shred(T0 + HOUR)).toBe(924);
      expect(shreds).toEqual([100, 924]);
    });
  });

  describe('memory', () => {
    it('frees a pool once every byte of it was leased and zeroed, and a late read hears expired', () => {
      const first = lease(512);
      const second = lease(512);
      store.read('kme-west', first.ref, T0 + 1, 'kme-east');
      store.shred(T0 + 2);
      // One sample still waits for its second read.
      expect(store.poolIds()).toHaveLength(1);
      store.read('kme-west', second.ref, T0 + 3, 'kme-east');
      store.shred(T0 + 4);
      expect(store.poolIds()).toEqual([]);
      expect(refusalOf(() => store.read('kme-west', first.ref, T0 + 5, 'kme-east'))).toBe('expired');
    });

    it('frees a pool whose samples were all read once the rest is too short for a lease, zeroing the rest', () => {
      // Three samples of 300 bytes leave 124 bytes no lease of 300 fits in.
      const refs = [lease(300), lease(300), lease(300)].map((sample) => sample.ref);
      for (const ref of refs.slice(0, 2)) store.read('kme-west', ref, T0 + 1, 'kme-east');
      store.shred(T0 + 2);
      expect(store.poolIds()).toHaveLength(1);
      store.read('kme-west', refs[2]!, T0 + 3, 'kme-east');
      expect(store.shred(T0 + 4)).toBe(124);
      expect(store.poolIds()).toEqual([]);
      expect(pool.every((byte) => byte === 0)).toBe(true);
      // Its memory serves new pools at once, not at its shred deadline an hour later.
      for (let i = 0; i < 7; i++) store.addPool(new Uint8Array(POOL_BYTES), T0 + 5);
      expect(store.canAddPool()).toBe(true);
    });

    it('keeps a pool whose samples were all read while the rest still fits a lease', () => {
      store.read('kme-west', lease(300).ref, T0 + 1, 'kme-east');
      expect(store.shred(T0 + 2)).toBe(0);
      expect(store.poolIds()).toHaveLength(1);
      expect(lease(700).ref.offset).toBe(300);
    });

    it('fills no pool beyond the memory the pools may hold', () => {
      for (let i = 1; i < 8; i++) {
        expect(store.canAddPool()).toBe(true);
        store.addPool(new Uint8Array(POOL_BYTES), T0);
      }
      expect(store.canAddPool()).toBe(false);
    });

    // A KME that leases and never lets its samples be read twice holds them until their deadlines: its share, not
    // the whole server.
    it('refuses a KME more unread samples than its share, while another KME still leases', () => {
      store.addPool(new Uint8Array(randomBytes(POOL_BYTES)), T0);
      store.addPool(new Uint8Array(randomBytes(POOL_BYTES)), T0);
      const held = [lease(1000), lease(1000)];
      expect(refusalOf(() => lease(100))).toBe('exhausted');
      expect(lease(100, T0 + 60_000, 'kme-west').ref.length).toBe(100);
      // Read by the other KME, a sample is zeroed and no longer counts.
      store.read('kme-west', held[0]!.ref, T0 + 1, 'kme-east');
      expect(lease(100).ref.length).toBe(100);
      // Nor does one past its deadline.
      store.shred(T0 + 60_000);
      store.addPool(new Uint8Array(randomBytes(POOL_BYTES)), T0 + 60_000);
      expect(lease(1000, T0 + 120_000).ref.length).toBe(1000);
    });
  });

  describe('rate', () => {
    // 128 bytes a second by default: a bucket then holds a pool's worth (1024), more than five seconds of it.
    const limited = (rate = 128) => {
      const each = new PoolStore({
        serverId: 'entropy-1',
        lifetimeMs: HOUR,
        poolBytes: POOL_BYTES,
        memoryBytes: 64 * POOL_BYTES,
        leaseRateBytes: rate,
      });
      for (let i = 0; i < 4; i++) each.addPool(new Uint8Array(randomBytes(POOL_BYTES)), T0);
      return (bytes: number, at: number, caller = 'kme-east') =>
        each.lease({ caller, bytes, readers: link, deadline: at + 60_000 }, at);
    };

    it("refuses a KME's lease beyond its rate as rate-limited, and serves it once the rate gave the bytes back", () => {
      const leaseAt = limited();
      leaseAt(1000, T0);
      expect(refusalOf(() => leaseAt(100, T0 + 10))).toBe('rate-limited');
      // 24 bytes left, and 0.128 more a millisecond: 100 there after about 594 ms.
      expect(refusalOf(() => leaseAt(100, T0 + 590))).toBe('rate-limited');
      expect(leaseAt(100, T0 + 600).ref.length).toBe(100);
    });

    it('keeps one bucket per KME, and counts no refused lease against it', () => {
      const leaseAt = limited();
      leaseAt(1000, T0);
      expect(leaseAt(1000, T0, 'kme-west').ref.length).toBe(1000);
      for (let i = 1; i <= 10; i++) expect(refusalOf(() => leaseAt(600, T0 + i))).toBe('rate-limited');
      expect(leaseAt(600, T0 + 4800).ref.length).toBe(600);
    });

    it('serves a lease of a whole pool however low the rate, and no more bytes than the bucket holds', () => {
      const leaseAt = limited();
      expect(leaseAt(POOL_BYTES, T0).ref.length).toBe(POOL_BYTES);
      // Half an hour idle fills the bucket to one pool's worth, not to half an hour of the rate.
      expect(leaseAt(POOL_BYTES, T0 + HOUR / 2).ref.length).toBe(POOL_BYTES);
      expect(refusalOf(() => leaseAt(64, T0 + HOUR / 2))).toBe('rate-limited');
    });

    // A key-generator filling its links from empty leases more than a second's worth at once.
    it('lets a KME lease five seconds of its rate at once when that is more than a pool', () => {
      const leaseAt = limited(256);
      expect(leaseAt(POOL_BYTES, T0).ref.length).toBe(POOL_BYTES);
      expect(leaseAt(256, T0).ref.length).toBe(256);
      expect(refusalOf(() => leaseAt(64, T0))).toBe('rate-limited');
    });
  });

  it('refuses a KME more lease records than its share allows, zeroed ones too, until their pool is dropped', () => {
    const roomy = new PoolStore({
      serverId: 'entropy-1',
      lifetimeMs: HOUR,
      poolBytes: 64 * POOL_BYTES,
      memoryBytes: 8 * 64 * POOL_BYTES,
      leaseRateBytes: NO_RATE_LIMIT,
    });
    roomy.addPool(new Uint8Array(64 * POOL_BYTES), T0);
    const leaseOf = (caller: string, deadline: number) =>
      roomy.lease({ caller, bytes: MIN_LEASE_BYTES, readers: link, deadline }, T0);
    // Leased and zeroed at once (past their deadline at the next shred): no byte of the share stays held.
    for (let i = 0; i < 1024; i++) leaseOf('kme-east', T0 + 1);
    roomy.shred(T0 + 1);
    expect(refusalOf(() => leaseOf('kme-east', T0 + 60_000))).toBe('exhausted');
    expect(leaseOf('kme-west', T0 + 60_000).ref.length).toBe(MIN_LEASE_BYTES);
    // Its pool dropped at its shred deadline, the records go with it.
    roomy.shred(T0 + HOUR);
    roomy.addPool(new Uint8Array(64 * POOL_BYTES), T0 + HOUR);
    expect(
      roomy.lease(
        { caller: 'kme-east', bytes: MIN_LEASE_BYTES, readers: link, deadline: T0 + 2 * HOUR },
        T0 + HOUR,
      ).ref.length,
    ).toBe(MIN_LEASE_BYTES);
  });

  it('counts a pool as fresh while it has room and half its life ahead', () => {
    expect(store.freshPools(T0)).toBe(1);
    expect(store.freshPools(T0 + HOUR / 2 + 1)).toBe(0);
  });

  it('counts a pool without room for the largest lease asked for as not fresh, so refilling goes on', () => {
    lease(400);
    lease(400);
    // 224 bytes are left: a lease of 400 is refused, and the pool must not count as fresh any longer.
    expect(() => lease(400)).toThrow(expect.objectContaining({ reason: 'exhausted' }));
    expect(store.freshPools(T0)).toBe(0);
  });

  it('refuses a lease larger than a pool as invalid, and goes on counting its pools as fresh', () => {
    expect(refusalOf(() => lease(POOL_BYTES + 1))).toBe('invalid-request');
    expect(refusalOf(() => lease(2 ** 40))).toBe('invalid-request');
    expect(store.freshPools(T0)).toBe(1);
    expect(lease(POOL_BYTES).ref.length).toBe(POOL_BYTES);
  });
});
