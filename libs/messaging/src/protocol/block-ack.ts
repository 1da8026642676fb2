import { EnvelopeMalformed, EnvelopeTampered, open, seal, type OpenOptions } from '@dqkd/blast';

import type { ProtocolMessage } from './metadata-message';
import { protocolSubject, type ProtocolNamingOptions } from './topology';

/** Why a target refused a block; the source burns it either way. */
export type BlockRejection = 'kcv-mismatch' | 'samples-refused' | 'metadata-refused';

/** The target's answer to a block's metadata, sent back to the block's source. */
export type BlockAck =
  | { readonly blockId: string; readonly outcome: 'ready' }
  | { readonly blockId: string; readonly outcome: 'rejected'; readonly reason: BlockRejection };

export const BLOCK_ACK_VERSION = 1;
const REASONS: readonly BlockRejection[] = ['kcv-mismatch', 'samples-refused', 'metadata-refused'];

export interface BlockAckRoute {
  /** The block's target: the KME that answers and signs. */
  readonly from: string;
  /** The block's source. */
  readonly to: string;
}

export interface OpenedBlockAck {
  readonly envelopeId: string;
  /** The signer, verified: the KME that answered. */
  readonly from: string;
  readonly ack: BlockAck;
}

/** JSON `{ v, b, o, r? }`: small, and the envelope already binds the block ID, both KMEs and an expiry. */
export function encodeBlockAck(ack: BlockAck): Uint8Array {
  const wire = {
    v: BLOCK_ACK_VERSION,
    b: ack.blockId,
    o: ack.outcome,
    ...(ack.outcome === 'rejected' ? { r: ack.reason } : {}),
  };
  return new TextEncoder().encode(JSON.stringify(wire));
}

/** Refuses anything but a well-formed acknowledgement of this version with EnvelopeMalformed. */
export function decodeBlockAck(bytes: Uint8Array): BlockAck {
  let wire: unknown;
  try {
    wire = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new EnvelopeMalformed('block acknowledgement is not JSON');
  }
  const { v, b, o, r } = (typeof wire === 'object' && wire !== null ? wire : {}) as Record<string, unknown>;
  if (v !== BLOCK_ACK_VERSION)
    throw new EnvelopeMalformed(`unsupported block acknowledgement version ${String(v)}`);
  if (typeof b !== 'string') throw new EnvelopeMalformed('block acknowledgement names no block');
  if (o === 'ready' && r === undefined) return { blockId: b, outcome: 'ready' };
  if (o === 'rejected' && REASONS.includes(r as BlockRejection)) {
    return { blockId: b, outcome: 'rejected', reason: r as BlockRejection };
  }
  throw new EnvelopeMalformed('block acknowledgement has no valid outcome');
}

/** Sealed and signed by the target to the source (kind `ack`, subject = block ID). */
export function sealBlockAck(
  ack: BlockAck,
  route: BlockAckRoute & { readonly expiresAt: number },
  senderSigningKey: Uint8Array,
  recipientKemPublicKey: Uint8Array,
): Uint8Array {
  const header = {
    kind: 'ack' as const,
    subjectId: ack.blockId,
    source: route.from,
    target: route.to,
    expiresAt: route.expiresAt,
  };
  return seal(header, encodeBlockAck(ack), senderSigningKey, recipientKemPublicKey);
}

/** Opens (signature, addressee, expiry, decryption); refuses an ack whose content disagrees with its header. */
export function openBlockAck(bytes: Uint8Array, options: OpenOptions): OpenedBlockAck {
  const { envelopeId, header, plaintext } = open(bytes, options);
  if (header.kind !== 'ack')
    throw new EnvelopeMalformed(`expected a block acknowledgement, got ${header.kind}`);
  const ack = decodeBlockAck(plaintext);
  if (ack.blockId !== header.subjectId)
    throw new EnvelopeTampered('block acknowledgement does not match its envelope header');
  return { envelopeId, from: header.source, ack };
}

export const blockAckMessageId = (blockId: string): string => `block-ack:${blockId}`;

/** The sealed acknowledgement on its way back from the block's target to its source. */
export function blockAckMessage(
  route: BlockAckRoute,
  blockId: string,
  sealed: Uint8Array,
  options: ProtocolNamingOptions = {},
): ProtocolMessage {
  return {
    subject: protocolSubject(route.from, route.to, 'block-ack', options),
    msgId: blockAckMessageId(blockId),
    payload: Buffer.from(sealed),
  };
}
