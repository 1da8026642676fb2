import { randomBytes, randomUUID } from 'node:crypto';

import { ed25519 } from '@noble/curves/ed25519.js';
import { ml_kem768_x25519 } from '@noble/post-quantum/hybrid.js';

import { openMetadata, sealMetadata } from './envelope/metadata-envelope';
import { BlastParameterInvalid, EntropyUnavailable, KcvMismatch } from './errors';
import { sampleBytes, subBlockCount } from './extractor/layout';
import {
  EntropySource,
  generateBlock,
  GenerateBlockRequest,
  LeasedSample,
  regenerateBlock,
} from './generator';
import { SampleRef } from './metadata';

/**
 * An entropy server in memory: every lease is fresh random bytes, readable twice (lease + one read),
 * by the named readers until the deadline. It keeps every array it hands out so tests can see them zeroed.
 */
class MemoryEntropySource implements EntropySource {
  readonly handedOut: Uint8Array[] = [];
  readonly leases: { bytes: number; readers: readonly string[]; deadline: number }[] = [];
  /** The lessee each second read named. */
  readonly readsFor: string[] = [];
  failLease = false;
  private readonly pool = new Map<number, { bytes: Uint8Array; reads: number }>();
  private nextOffset = 0;

  constructor(readonly serverId: string) {}

  async lease(bytes: number, readers: readonly string[], deadline: number): Promise<LeasedSample> {
    if (this.failLease) throw new Error('pool empty');
    this.leases.push({ bytes, readers, deadline });
    const offset = this.nextOffset;
    this.nextOffset += bytes;
    const sample = new Uint8Array(randomBytes(bytes));
    this.pool.set(offset, { bytes: sample, reads: 1 });
    const ref: SampleRef = {
      serverId: this.serverId,
      poolId: 'pool-1',
      offset,
      length: bytes,
      notAfter: deadline,
    };
    return { ref, bytes: this.handOut(sample) };
  }

  async read(ref: SampleRef, leasedBy: string): Promise<Uint8Array> {
    this.readsFor.push(leasedBy);
    const entry = this.pool.get(ref.offset);
    if (!entry || entry.reads >= 2) throw new Error('sample already read or shredded');
    entry.reads++;
    return this.handOut(entry.bytes);
  }

  private handOut(sample: Uint8Array): Uint8Array {
    const copy = new Uint8Array(sample);
    this.handedOut.push(copy);
    return copy;
  }
}

const NOW = Date.UTC(2026, 0, 1);
const servers = () => ['entropy-1', 'entropy-2', 'entropy-3'].map((id) => new MemoryEntropySource(id));
const request = (
  sources: EntropySource[],
  overrides: Partial<GenerateBlockRequest> = {},
): GenerateBlockRequest => ({
  source: 'kme-east',
  target: 'kme-west',
  blockBits: 65536,
  minEntropyRate: 0.9,
  sources,
  now: NOW,
  expiresAt: NOW + 3_600_000,
  ...overrides,
});
const allZero = (bytes: Uint8Array) => bytes.every((byte) => byte === 0);
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

describe('generateBlock (source side)', () => {
  it('makes a block of blockBits with a 32-bit kcv and metadata naming every server', async () => {
    const sources = servers();
    const { block, kcv, metadata } = await generateBlock(request(sources));
    expect(block).toHaveLength(8192);
    expect(kcv).toHaveLength(4);
    expect(metadata.samples.map((sample) => sample.serverId)).toEqual([
      'entropy-1',
      'entropy-2',
      'entropy-3',
    ]);
    expect(metadata).toMatchObject({ source: 'kme-east', target: 'kme-west', createdAt: NOW });
    expect(hex(metadata.kcv)).toBe(hex(kcv));
  });

  it('leases the planned sample size from every server, readable by both ends until the deadline', async () => {
    const sources = servers();
    await generateBlock(request(sources, { sampleDeadline: NOW + 600_000 }));
    for (const source of sources) {
      expect(source.leases).toEqual([
        { bytes: sampleBytes(65536, 0.9), readers: ['kme-east', 'kme-west'], deadline: NOW + 600_000 },
      ]);
    }
  });

  it('zeroes every sample after use', async () => {
    const sources = servers();
    await generateBlock(request(sources));
    expect(sources.flatMap((source) => source.handedOut).every(allZero)).toBe(true);
  });

  it('uses a fresh seed and block ID each time', async () => {
    const first = await generateBlock(request(servers()));
    const second = await generateBlock(request(servers()));
    expect(first.metadata.blockId).not.toBe(second.metadata.blockId);
    expect(hex(first.metadata.seed)).not.toBe(hex(second.metadata.seed));
  });

  it('keeps a block ID the caller claimed', async () => {
    const blockId = randomUUID();
    expect((await generateBlock(request(servers(), { blockId }))).metadata.blockId).toBe(blockId);
  });

  it('fails when one server fails, naming it, and zeroes the samples the others gave', async () => {
    const sources = servers();
    sources[1].failLease = true;
    await expect(generateBlock(request(sources))).rejects.toMatchObject({
      constructor: EntropyUnavailable,
      serverId: 'entropy-2',
    });
    expect(sources.flatMap((source) => source.handedOut)).toHaveLength(2);
    expect(sources.flatMap((source) => source.handedOut).every(allZero)).toBe(true);
  });

  it('fails when a server answers with fewer bytes than asked', async () => {
    const sources = servers();
    const short: EntropySource = {
      serverId: 'entropy-short',
      lease: async (bytes, readers, deadline) => {
        const lease = await sources[0].lease(bytes, readers, deadline);
        return { ref: { ...lease.ref, serverId: 'entropy-short' }, bytes: lease.bytes.subarray(1) };
      },
      read: (ref, leasedBy) => sources[0].read(ref, leasedBy),
    };
    await expect(generateBlock(request([short, sources[1], sources[2]]))).rejects.toThrow(EntropyUnavailable);
  });

  it('refuses fewer than two servers', async () => {
    await expect(generateBlock(request(servers().slice(0, 1)))).rejects.toThrow(BlastParameterInvalid);
  });

  it('refuses the same server twice, whose samples would cancel out', async () => {
    const [one, two] = servers();
    await expect(generateBlock(request([one, two, one]))).rejects.toThrow(BlastParameterInvalid);
  });

  it('refuses a block that expires as it is made', async () => {
    await expect(generateBlock(request(servers(), { expiresAt: NOW }))).rejects.toThrow(
      BlastParameterInvalid,
    );
  });
});

describe('regenerateBlock (target side)', () => {
  it('regenerates exactly the source’s block from the metadata', async () => {
    const sources = servers();
    const generated = await generateBlock(request(sources));
    const block = await regenerateBlock(generated.metadata, sources);
    // Each sample is read as one the metadata's source leased (see EntropySource.read).
    expect(sources.flatMap((source) => source.readsFor)).toEqual(
      sources.map(() => generated.metadata.source),
    );
    expect(hex(block)).toBe(hex(generated.block));
  });

  it('regenerates the block from metadata that travelled sealed from source to target', async () => {
    const east = { signingKey: ed25519.utils.randomSecretKey() };
    const west = ml_kem768_x25519.keygen();
    const sources = servers();
    const generated = await generateBlock(request(sources));
    const envelope = sealMetadata(generated.metadata, east.signingKey, west.publicKey);
    const { metadata } = openMetadata(envelope, {
      self: 'kme-west',
      recipientKemSecret: west.secretKey,
      senderSigPublicKeys: new Map([['kme-east', ed25519.getPublicKey(east.signingKey)]]),
      now: NOW + 1000,
    });
    expect(hex(await regenerateBlock(metadata, sources))).toBe(hex(generated.block));
  });

  it('zeroes the samples it read', async () => {
    const sources = servers();
    const { metadata } = await generateBlock(request(sources));
    await regenerateBlock(metadata, sources);
    expect(sources.flatMap((source) => source.handedOut)).toHaveLength(6);
    expect(sources.flatMap((source) => source.handedOut).every(allZero)).toBe(true);
  });

  it('raises KcvMismatch when a server answers with other bytes', async () => {
    const sources = servers();
    const { metadata } = await generateBlock(request(sources));
    const lying: EntropySource = {
      serverId: 'entropy-2',
      lease: () => Promise.reject(new Error('not used')),
      read: async (ref) => new Uint8Array(randomBytes(ref.length)),
    };
    await expect(regenerateBlock(metadata, [sources[0], lying, sources[2]])).rejects.toThrow(KcvMismatch);
  });

  /** `source` reading as a dishonest server would: the bit 0 of each byte at `positions` flipped. */
  const flipsOf = (source: EntropySource, positions: readonly number[]): EntropySource => ({
    serverId: source.serverId,
    lease: () => Promise.reject(new Error('not used')),
    read: async (ref, leasedBy) => {
      const bytes = await source.read(ref, leasedBy);
      positions.forEach((position) => (bytes[position] ^= 1));
      return bytes;
    },
  });

  it('raises KcvMismatch when a server answers with one byte changed', async () => {
    const sources = servers();
    const { metadata } = await generateBlock(request(sources));
    const flipping = flipsOf(sources[1]!, [100]);
    await expect(regenerateBlock(metadata, [sources[0], flipping, sources[2]])).rejects.toMatchObject({
      constructor: KcvMismatch,
      blockId: metadata.blockId,
    });
  });

  // One matrix hashes every sub-block: the same change to two of them cancelled in a kcv that XOR-ed their
  // check rows, and the two sites then held different blocks without an alarm.
  it('raises KcvMismatch when a server changes two sub-blocks by the same difference', async () => {
    const sources = servers();
    const { metadata } = await generateBlock(request(sources));
    const stride = metadata.layout.subBlockInputBits / 8;
    expect(subBlockCount(metadata.layout)).toBeGreaterThan(1);
    const flipping = flipsOf(sources[1]!, [100, 100 + stride]);
    await expect(regenerateBlock(metadata, [sources[0], flipping, sources[2]])).rejects.toMatchObject({
      constructor: KcvMismatch,
      blockId: metadata.blockId,
    });
  });

  it('fails, naming the server, when a sample was already read', async () => {
    const sources = servers();
    const { metadata } = await generateBlock(request(sources));
    await regenerateBlock(metadata, sources);
    await expect(regenerateBlock(metadata, sources)).rejects.toMatchObject({
      constructor: EntropyUnavailable,
      serverId: 'entropy-1',
    });
  });

  it('tells how many servers answered and why the others failed when a read fails', async () => {
    const sources = servers();
    const { metadata } = await generateBlock(request(sources));
    await regenerateBlock(metadata, [sources[0], sources[1], servers()[2]]).catch(() => undefined);
    const failed: unknown = await regenerateBlock(metadata, sources).catch((error: unknown) => error);
    expect(failed).toMatchObject({ constructor: EntropyUnavailable, serverId: 'entropy-1', answered: 1 });
    expect((failed as EntropyUnavailable).otherCauses).toHaveLength(1);
    expect(String((failed as EntropyUnavailable).otherCauses[0])).toMatch(/already read/);
  });

  it('fails rather than use fewer samples when a referenced server is not configured', async () => {
    const sources = servers();
    const { metadata } = await generateBlock(request(sources));
    await expect(regenerateBlock(metadata, [sources[0], sources[2]])).rejects.toMatchObject({
      constructor: EntropyUnavailable,
      serverId: 'entropy-2',
    });
    expect(sources.flatMap((source) => source.handedOut).every(allZero)).toBe(true);
  });
});
