import { randomUUID } from 'node:crypto';

import { ed25519 } from '@noble/curves/ed25519.js';
import { ml_kem768_x25519 } from '@noble/post-quantum/hybrid.js';

import { EnvelopeMalformed, EnvelopeMisaddressed, EnvelopeTampered } from '../errors';
import { layoutSampleBytes, layoutSeedBytes, planExtractor } from '../extractor/layout';
import { BlockMetadata, encodeMetadata } from '../metadata';
import { OpenOptions, seal } from './envelope';
import { openMetadata, sealMetadata } from './metadata-envelope';

const NOW = Date.UTC(2026, 0, 1);
const layout = planExtractor(8192, 1);
const eastSigningKey = ed25519.utils.randomSecretKey();
const west = ml_kem768_x25519.keygen();

const metadata: BlockMetadata = {
  blockId: randomUUID(),
  source: 'kme-east',
  target: 'kme-west',
  layout,
  samples: ['entropy-1', 'entropy-2'].map((serverId) => ({
    serverId,
    poolId: 'pool-1',
    offset: 0,
    length: layoutSampleBytes(layout),
    notAfter: NOW + 600_000,
  })),
  seed: new Uint8Array(layoutSeedBytes(layout)).fill(7),
  kcv: Uint8Array.of(9, 9, 9, 9),
  createdAt: NOW,
  expiresAt: NOW + 3_600_000,
};

const atWest: OpenOptions = {
  self: 'kme-west',
  recipientKemSecret: west.secretKey,
  senderSigPublicKeys: new Map([['kme-east', ed25519.getPublicKey(eastSigningKey)]]),
  now: NOW,
};

const header = {
  kind: 'metadata' as const,
  subjectId: metadata.blockId,
  source: 'kme-east',
  target: 'kme-west',
  expiresAt: metadata.expiresAt,
};

describe('sealed metadata', () => {
  it('opens to the same metadata at the target', () => {
    const opened = openMetadata(sealMetadata(metadata, eastSigningKey, west.publicKey), atWest);
    expect(opened.metadata).toEqual(metadata);
  });

  it('is addressed to the block’s target only', () => {
    const envelope = sealMetadata(metadata, eastSigningKey, west.publicKey);
    expect(() => openMetadata(envelope, { ...atWest, self: 'kme-north' })).toThrow(EnvelopeMisaddressed);
  });

  it('refuses metadata sealed under another block’s ID', () => {
    const envelope = seal(
      { ...header, subjectId: randomUUID() },
      encodeMetadata(metadata),
      eastSigningKey,
      west.publicKey,
    );
    expect(() => openMetadata(envelope, atWest)).toThrow(EnvelopeTampered);
  });

  it('refuses metadata whose envelope expires later than the block', () => {
    const envelope = seal(
      { ...header, expiresAt: header.expiresAt + 1 },
      encodeMetadata(metadata),
      eastSigningKey,
      west.publicKey,
    );
    expect(() => openMetadata(envelope, atWest)).toThrow(EnvelopeTampered);
  });

  it('refuses an envelope of another kind', () => {
    const envelope = seal(
      { ...header, kind: 'assignment' },
      encodeMetadata(metadata),
      eastSigningKey,
      west.publicKey,
    );
    expect(() => openMetadata(envelope, atWest)).toThrow(EnvelopeMalformed);
  });

  it('refuses a signed envelope whose content is not metadata', () => {
    const envelope = seal(header, Uint8Array.of(1, 2, 3), eastSigningKey, west.publicKey);
    expect(() => openMetadata(envelope, atWest)).toThrow(EnvelopeMalformed);
  });
});
