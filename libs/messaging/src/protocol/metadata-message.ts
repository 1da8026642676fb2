import { protocolSubject, type ProtocolNamingOptions } from './topology';

/** A message as the outbox holds it and the relay publishes it. */
export interface ProtocolMessage {
  readonly subject: string;
  readonly msgId: string;
  readonly payload: Buffer;
}

/**
 * A block's sealed metadata (blast's `sealMetadata`, kind `metadata`, bound to the block ID) on its way from
 * the source to the target; one message per block, whatever the number of publishes.
 */
export function metadataMessage(
  link: { readonly source: string; readonly target: string },
  blockId: string,
  sealedMetadata: Uint8Array,
  options: ProtocolNamingOptions = {},
): ProtocolMessage {
  return {
    subject: protocolSubject(link.source, link.target, 'metadata', options),
    msgId: metadataMessageId(blockId),
    payload: Buffer.from(sealedMetadata),
  };
}

export const metadataMessageId = (blockId: string): string => `metadata:${blockId}`;
