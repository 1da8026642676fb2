import { randomBytes, randomUUID } from 'node:crypto';

import { BlastParameterInvalid, MetadataMalformed } from './errors';
import { layoutSampleBytes, layoutSeedBytes, planExtractor } from './extractor/layout';
import { BlockMetadata, decodeMetadata, encodeMetadata } from './metadata';

const layout = planExtractor(65536, 0.9);

function metadata(overrides: Partial<BlockMetadata> = {}): BlockMetadata {
  const createdAt = Date.UTC(2026, 0, 1);
  return {
    blockId: randomUUID(),
    source: 'kme-east',
    target: 'kme-west',
    layout,
    samples: ['entropy-1', 'entropy-2', 'entropy-3'].map((serverId, i) => ({
      serverId,
      poolId: `pool-${i}`,
      offset: 2 ** 40 + i,
      length: layoutSampleBytes(layout),
      notAfter: createdAt + 600_000,
    })),
    seed: new Uint8Array(randomBytes(layoutSeedBytes(layout))),
    kcv: Uint8Array.of(1, 2, 3, 4),
    createdAt,
    expiresAt: createdAt + 3_600_000,
    ...overrides,
  };
}

function faultOf(bytes: Uint8Array): string {
  try {
    decodeMetadata(bytes);
  } catch (error) {
    if (error instanceof MetadataMalformed) return error.fault;
    throw error;
  }
  return 'accepted';
}

describe('block metadata encoding', () => {
  it('round-trips every field', () => {
    const original = metadata();
    expect(decodeMetadata(encodeMetadata(original))).toEqual(original);
  });

  it('is compact: beyond the seed, metadata for three servers takes under 200 bytes', () => {
    const original = metadata();
    expect(encodeMetadata(original).length - original.seed.length).toBeLessThan(200);
  });

  it('starts with version 2', () => {
    expect(encodeMetadata(metadata())[0]).toBe(2);
  });

  it('refuses an unknown version, and version 1, whose kcv was computed otherwise', () => {
    const bytes = encodeMetadata(metadata());
    for (const version of [1, 3]) {
      bytes[0] = version;
      expect(faultOf(bytes)).toBe('unsupported-version');
    }
  });

  it('refuses every truncation', () => {
    const bytes = encodeMetadata(metadata());
    const faults = new Set(
      Array.from({ length: bytes.length }, (_, length) => faultOf(bytes.subarray(0, length))),
    );
    expect([...faults]).toEqual(['truncated']);
  });

  it('refuses trailing bytes', () => {
    expect(faultOf(Buffer.concat([encodeMetadata(metadata()), Uint8Array.of(0)]))).toBe('trailing-bytes');
  });

  it('refuses a layout the extractor cannot run', () => {
    const bytes = encodeMetadata(metadata());
    const layoutAt = 1 + 16 + 9 + 9 + 16;
    new DataView(bytes.buffer).setUint32(layoutAt + 4, layout.subBlockOutputBits);
    expect(faultOf(bytes)).toBe('invalid-field');
  });

  it('refuses a server referenced twice, whose samples would cancel out', () => {
    const original = metadata();
    const twice = { ...original, samples: [original.samples[0], original.samples[0]] };
    expect(() => encodeMetadata(twice)).toThrow(BlastParameterInvalid);
  });

  it('refuses fewer than two samples', () => {
    const original = metadata();
    expect(() => encodeMetadata({ ...original, samples: original.samples.slice(0, 1) })).toThrow(
      BlastParameterInvalid,
    );
  });

  it('refuses samples of a length other than the layout’s', () => {
    const original = metadata();
    const samples = original.samples.map((sample) => ({ ...sample, length: sample.length - 1 }));
    expect(() => encodeMetadata({ ...original, samples })).toThrow(BlastParameterInvalid);
  });

  it('refuses a link from a KME to itself', () => {
    expect(() => encodeMetadata(metadata({ target: 'kme-east' }))).toThrow(BlastParameterInvalid);
  });

  it('refuses an expiry before creation', () => {
    expect(() => encodeMetadata(metadata({ expiresAt: Date.UTC(2025, 0, 1) }))).toThrow(
      BlastParameterInvalid,
    );
  });

  it('refuses a seed of the wrong length', () => {
    expect(() => encodeMetadata(metadata({ seed: new Uint8Array(8) }))).toThrow(BlastParameterInvalid);
  });
});
