/** Which end of a link this site is for a block. */
export type BlockRole = 'source' | 'target';
export type BlockState = 'pending' | 'ready' | 'burned';

export interface Link {
  readonly id: number;
  readonly sourceKmeId: string;
  readonly targetKmeId: string;
  readonly blockBits: number;
  readonly createdAt: Date;
}

/** A block as callers see it: never its material, which only `BlockStore.readMaterial` returns. */
export interface BlockRecord {
  readonly id: string;
  readonly linkId: number;
  readonly role: BlockRole;
  readonly state: BlockState;
  readonly bits: number;
  readonly reservedBits: number;
  readonly metadata: Buffer;
  readonly hasMaterial: boolean;
  readonly createdAt: Date;
  readonly readyAt: Date | null;
  readonly expiresAt: Date;
  readonly burnedAt: Date | null;
  readonly burnReason: string | null;
}

/** Bits [start, end) of one block. */
export interface BitSegment {
  readonly blockId: string;
  readonly start: number;
  readonly end: number;
}

/** An ordered run of bits of one link; its keys are addressed by offsets into the concatenated segments. */
export interface Reservation {
  readonly id: string;
  readonly linkId: number;
  readonly bits: number;
  readonly segments: readonly BitSegment[];
}

/** A slave is an SAE, or a peer KME when the key was addressed to the KME (any of its SAEs may take it once). */
export interface Slave {
  readonly kind: 'sae' | 'kme';
  readonly id: string;
}

export interface NewKey {
  readonly keyId: string;
  readonly linkId: number;
  readonly masterSaeId: string;
  readonly size: number;
  readonly reservationId: string;
  readonly offset: number;
  readonly expiresAt: Date;
  readonly slaves: readonly Slave[];
  /** Only the target stores material, for its slaves to fetch; the source keeps none. */
  readonly material?: Buffer;
}

export interface KeyRecord {
  readonly keyId: string;
  readonly linkId: number;
  readonly masterSaeId: string;
  readonly size: number;
  readonly reservationId: string;
  readonly offset: number;
  readonly hasMaterial: boolean;
  readonly createdAt: Date;
  readonly expiresAt: Date;
  readonly slaves: readonly (Slave & { readonly deliveredAt: Date | null })[];
}

/** A replicated message to record as processed together with its effect (see KeyStore.record, Inbox). */
export interface MessageClaim {
  readonly messageId: string;
  readonly subject: string;
}

/** A message published without the outbox, kept there as published all the same (see KeyStore.record). */
export interface SentMessage {
  readonly subject: string;
  /** The bus's deduplication ID, which the receiver's inbox records too. */
  readonly msgId: string;
  readonly payload: Uint8Array;
}
