import { EtsiHttpError } from '@dqkd/client';
import type { Key } from '@dqkd/etsi014';

import { BLOCK_BITS, eventually, HIGH_WATERMARK_BITS, SITES, type SiteId } from './support/flow-network';
import { ProcessNetwork, type KmeApp } from './support/process-network';

const TTL_SECONDS = 2;
const LOAD_WORKERS = 3;
/** Keys the load must get between two kills, so that each kill meets a network that recovered from the last. */
const KEYS_BETWEEN_KILLS = 10;
const DEC_CHUNK = 100;

/** One process of each kind at each site, and one entropy server, in an order that mixes the sites. */
const VICTIMS: [KmeApp | 'entropy-server', string][] = [
  ['replication', 'kme-west'],
  ['api-gateway', 'kme-east'],
  ['key-generator', 'kme-east'],
  ['entropy-server', 'entropy-2'],
  ['replication', 'kme-east'],
  ['ttl-reaper', 'kme-east'],
  ['api-gateway', 'kme-west'],
  ['key-generator', 'kme-west'],
  ['ttl-reaper', 'kme-west'],
];

const pairs = (keys: readonly Key[]) =>
  keys.map((key) => [key.key_ID, key.key]).sort(([a], [b]) => a.localeCompare(b));

describe('the two-site network as separate processes on Postgres and NATS', () => {
  let network: ProcessNetwork;
  /** Every key an SAE received, to look for in every output and message at the end. */
  const received: Key[] = [];

  beforeAll(async () => {
    network = await ProcessNetwork.start();
  }, 180_000);

  afterAll(() => network?.stop(), 60_000);

  const alice = () => network.client('sae-alice');
  const bob = () => network.client('sae-bob');
  const carol = () => network.client('sae-carol');
  const kept = (keys: readonly Key[]) => {
    received.push(...keys);
    return keys;
  };
  const keyRows = async (site: SiteId, keyIds: readonly string[]) =>
    (
      (await (
        await network.ledger(site)
      ).manager.query('SELECT key_id FROM keys WHERE key_id = ANY ($1::uuid[])', [keyIds])) as unknown[]
    ).length;

  describe('over HTTPS with client certificates', () => {
    it('answers status of east → west to Alice and of west → east to Bob, each with ready keys', async () => {
      const [toWest, toEast] = await Promise.all([alice().status('sae-bob'), bob().status('sae-alice')]);
      expect(toWest).toMatchObject({
        source_KME_ID: 'kme-east',
        target_KME_ID: 'kme-west',
        master_SAE_ID: 'sae-alice',
        slave_SAE_ID: 'sae-bob',
      });
      expect(toEast).toMatchObject({
        source_KME_ID: 'kme-west',
        target_KME_ID: 'kme-east',
        master_SAE_ID: 'sae-bob',
        slave_SAE_ID: 'sae-alice',
      });
      expect(toWest.stored_key_count).toBeGreaterThan(0);
      expect(toEast.stored_key_count).toBeGreaterThan(0);
    });

    it('gives Bob at kme-west the keys Alice got at kme-east, once', async () => {
      const keys = kept((await alice().encKeys('sae-bob', { number: 3, size: 512 })).keys);
      expect(keys.map((key) => Buffer.from(key.key, 'base64').length)).toEqual([64, 64, 64]);
      const fetched = await bob().decKeys(
        'sae-alice',
        keys.map((key) => key.key_ID),
      );
      expect(pairs(fetched.keys)).toEqual(pairs(keys));
      await expect(bob().decKeys('sae-alice', [keys[0].key_ID])).rejects.toMatchObject({ status: 400 });
    });

    it('gives Alice at kme-east the keys Bob got at kme-west (GET)', async () => {
      const keys = kept((await bob().encKeys('sae-alice', { number: 2, size: 256 }, { method: 'GET' })).keys);
      const fetched = await alice().decKeys(
        'sae-bob',
        keys.map((key) => key.key_ID),
      );
      expect(pairs(fetched.keys)).toEqual(pairs(keys));
    });

    it('lets one SAE of kme-west take a key Alice addressed to the KME kme-west, once', async () => {
      const [key] = kept((await alice().encKeys('kme-west', {})).keys);
      const fetched = await carol().decKeys('kme-east', [key.key_ID]);
      expect(fetched.keys.map((k) => [k.key_ID, k.key])).toEqual([[key.key_ID, key.key]]);
      await expect(bob().decKeys('kme-east', [key.key_ID])).rejects.toMatchObject({ status: 400 });
    });

    it('serves a key larger than the pool holds above its low watermark: the key-generator is asked for more', async () => {
      // 65536 bits: beyond the pool's high watermark and one block, within twice that (see poolCeilingBits).
      const size = 65_536;
      expect(size).toBeGreaterThan(HIGH_WATERMARK_BITS + BLOCK_BITS);
      let keys: readonly Key[] = [];
      await eventually(
        async () => {
          keys = await alice()
            .encKeys('sae-bob', { number: 1, size })
            .then(
              (container) => container.keys,
              (error: unknown) => {
                if (error instanceof EtsiHttpError && error.status === 503) return [];
                throw error;
              },
            );
          return keys.length === 1;
        },
        20_000,
        'a key of 65536 bits',
      );
      kept(keys);
      const fetched = await bob().decKeys('sae-alice', [keys[0]!.key_ID]);
      expect(fetched.keys[0]!.key).toBe(keys[0]!.key);
      expect(Buffer.from(fetched.keys[0]!.key, 'base64').length).toBe(size / 8);
    });

    it('gives a multicast key to Bob and to Carol, once each', async () => {
      const [key] = kept(
        (await alice().encKeys('sae-bob', { additional_slave_SAE_IDs: ['sae-carol'] })).keys,
      );
      const [forBob, forCarol] = await Promise.all([
        bob().decKeys('sae-alice', [key.key_ID]),
        carol().decKeys('sae-alice', [key.key_ID]),
      ]);
      expect(forBob.keys[0].key).toBe(key.key);
      expect(forCarol.keys[0].key).toBe(key.key);
      await expect(carol().decKeys('sae-alice', [key.key_ID])).rejects.toMatchObject({ status: 400 });
      await expect(bob().decKeys('sae-alice', [key.key_ID])).rejects.toMatchObject({ status: 400 });
    });
  });

  it('forgets a key past its dqkd_ttl at both sites: dec_keys answers 400 and both reapers delete it', async () => {
    const before = Date.now();
    const keys = kept(
      (await alice().encKeys('sae-bob', { number: 2, extension_mandatory: [{ dqkd_ttl: TTL_SECONDS }] }))
        .keys,
    );
    const after = Date.now();
    const ids = keys.map((key) => key.key_ID);
    const deadline = new Date(String(keys[0].key_extension?.['dqkd_expires_at'])).getTime();
    // The deadline is the enc_keys instant plus the TTL; a second either way allows for rounding.
    expect(deadline).toBeGreaterThanOrEqual(before + TTL_SECONDS * 1000 - 1000);
    expect(deadline).toBeLessThanOrEqual(after + TTL_SECONDS * 1000 + 1000);

    // Live before the deadline: Bob takes the first key, and both sites hold both.
    const first = await bob().decKeys('sae-alice', [ids[0]]);
    expect(first.keys[0].key).toBe(keys[0].key);
    expect(Date.now()).toBeLessThan(deadline);
    expect(await keyRows('kme-east', ids)).toBe(2);
    expect(await keyRows('kme-west', ids)).toBe(2);

    await new Promise((resolve) => setTimeout(resolve, deadline - Date.now() + 100));
    await expect(bob().decKeys('sae-alice', [ids[1]])).rejects.toMatchObject({ status: 400 });
    for (const site of SITES) {
      await eventually(
        async () => (await keyRows(site, ids)) === 0,
        15_000,
        `the reaper of ${site} to delete the expired keys`,
      );
    }
  }, 30_000);

  it('keeps every key returned to Alice decodable by Bob with its material through a SIGKILL of each process under load', async () => {
    const returned: Key[] = [];
    const refusals: string[] = [];
    /** The expected failures by kind, since the last kill: what a wait that timed out reports. */
    const failures = new Map<string, number>();
    let loading = true;
    // Each worker asks until told to stop. Refused connections while the gateway is down and 503 while the
    // pool refills are expected; any other ETSI answer is not.
    const worker = async () => {
      while (loading) {
        try {
          returned.push(...(await alice().encKeys('sae-bob', { number: 2 })).keys);
        } catch (error) {
          if (error instanceof EtsiHttpError && error.status !== 503) refusals.push(error.message);
          const kind = error instanceof EtsiHttpError ? `HTTP ${error.status}` : String(error);
          failures.set(kind, (failures.get(kind) ?? 0) + 1);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
    };
    const workers = Array.from({ length: LOAD_WORKERS }, worker);
    const moreKeys = async (what: string) => {
      const mark = returned.length;
      failures.clear();
      await eventually(async () => returned.length >= mark + KEYS_BETWEEN_KILLS, 30_000, what).catch(
        (error: Error) => {
          const seen = JSON.stringify(Object.fromEntries(failures));
          const problems = network.recentProblems(20).join('\n');
          const got = `${returned.length - mark} keys of ${KEYS_BETWEEN_KILLS}`;
          throw new Error(
            `${error.message} (${got}); the load's failures: ${seen}; last problems:\n${problems}`,
          );
        },
      );
    };
    try {
      for (const [app, owner] of VICTIMS) {
        await moreKeys(`keys from the load before killing ${app} of ${owner}`);
        await network.killAndRestart(app, owner);
      }
      await moreKeys('keys from the load after the last restart');
    } finally {
      loading = false;
      await Promise.all(workers);
    }
    kept(returned);
    expect(refusals).toEqual([]);
    expect(new Set(returned.map((key) => key.key_ID)).size).toBe(returned.length);
    expect(new Set(returned.map((key) => key.key)).size).toBe(returned.length);

    const ids = returned.map((key) => key.key_ID);
    await eventually(
      async () => (await keyRows('kme-west', ids)) === ids.length,
      60_000,
      `kme-west to hold all ${ids.length} keys Alice got`,
    );
    const decoded: Key[] = [];
    for (let at = 0; at < ids.length; at += DEC_CHUNK) {
      decoded.push(...(await bob().decKeys('sae-alice', ids.slice(at, at + DEC_CHUNK))).keys);
    }
    expect(pairs(decoded)).toEqual(pairs(returned));
  }, 180_000);

  it('never shows key material in any process output or NATS message, sealed or opened', async () => {
    const kinds = new Set(network.published.map((message) => message.subject.split('.').pop()));
    expect([...kinds].sort()).toEqual(['assignment', 'block-ack', 'metadata']);
    expect(received.length).toBeGreaterThan(100);
    expect(await network.leaks(received)).toEqual([]);

    // The scan finds what is there: bytes taken from a captured message count as a leak, and so do bytes
    // taken from inside an envelope, which appear nowhere in the sealed messages.
    const sample = network.published.find((message) => message.data.length >= 64)!.data.subarray(16, 48);
    expect(await network.leaks([{ key_ID: 'planted', key: sample.toString('base64') }])).not.toEqual([]);
    const sealed = network.published.findIndex((message) => message.subject.endsWith('.assignment'));
    const inside = (await network.plaintexts())[sealed]!.subarray(0, 24);
    const found = await network.leaks([{ key_ID: 'planted', key: inside.toString('base64') }]);
    expect(found).toContain(`key planted in the opened ${network.published[sealed]!.subject}`);
    expect(found.filter((where) => !where.includes('the opened '))).toEqual([]);
  });
});
