import { EnvelopeMalformed, EnvelopeTampered, MetadataMalformed } from '../errors';
import { BlockMetadata, decodeMetadata, encodeMetadata } from '../metadata';
import { open, OpenOptions, seal } from './envelope';

export interface OpenedMetadata {
  readonly envelopeId: string;
  readonly metadata: BlockMetadata;
}

/** Seals a block's metadata from its source to its target, bound to the block ID and expiry. */
export function sealMetadata(
  metadata: BlockMetadata,
  senderSigningKey: Uint8Array,
  recipientKemPublicKey: Uint8Array,
): Uint8Array {
  const header = {
    kind: 'metadata' as const,
    subjectId: metadata.blockId,
    source: metadata.source,
    target: metadata.target,
    expiresAt: metadata.expiresAt,
  };
  return seal(header, encodeMetadata(metadata), senderSigningKey, recipientKemPublicKey);
}

/**
 * Opens (see `open`) and decodes metadata, and refuses it unless the signed header and the sealed
 * metadata agree on kind, block, source, target and expiry: a signed assignment or another block's
 * metadata cannot pass as this one.
 */
export function openMetadata(bytes: Uint8Array, options: OpenOptions): OpenedMetadata {
  const { envelopeId, header, plaintext } = open(bytes, options);
  if (header.kind !== 'metadata') throw new EnvelopeMalformed(`expected metadata, got ${header.kind}`);
  let metadata: BlockMetadata;
  try {
    metadata = decodeMetadata(plaintext);
  } catch (error) {
    if (error instanceof MetadataMalformed)
      throw new EnvelopeMalformed('sealed metadata does not decode', { cause: error });
    throw error;
  }
  const agrees =
    metadata.blockId === header.subjectId &&
    metadata.source === header.source &&
    metadata.target === header.target &&
    metadata.expiresAt === header.expiresAt;
  if (!agrees) throw new EnvelopeTampered('sealed metadata does not match its envelope header');
  return { envelopeId, metadata };
}
