import { ByteReader, ByteWriter } from '../bytes';
import { EnvelopeMalformed } from '../errors';

/** 2: a random salt follows the KEM ciphertext, so envelopes may share an encapsulation. */
export const ENVELOPE_VERSION = 2;

export type EnvelopeKind = 'metadata' | 'assignment' | 'sample' | 'ack';

const KIND_CODES: Record<EnvelopeKind, number> = { metadata: 1, assignment: 2, sample: 3, ack: 4 };
const KINDS_BY_CODE = new Map(Object.entries(KIND_CODES).map(([kind, code]) => [code, kind as EnvelopeKind]));

/**
 * What an envelope is bound to. It is the AEAD's additional data and is signed with the ciphertexts,
 * so none of it can be changed or moved to another envelope.
 */
export interface EnvelopeHeader {
  readonly kind: EnvelopeKind;
  /** Block ID for metadata and acks, reservation ID for an assignment, sample ID for a sample (UUIDs). */
  readonly subjectId: string;
  /** Sending KME (or entropy server, for samples): the signer. */
  readonly source: string;
  /** Receiving KME: the only one that may open it. */
  readonly target: string;
  /** UTC ms; from this instant on the envelope is refused. */
  readonly expiresAt: number;
}

/** u8 version, u8 kind, 16-byte subject ID, source and target (u8 length + UTF-8), u64 expiresAt. */
export function encodeHeader(header: EnvelopeHeader): Uint8Array {
  return new ByteWriter()
    .u8(ENVELOPE_VERSION)
    .u8(KIND_CODES[header.kind])
    .uuid(header.subjectId, 'subject ID')
    .shortText(header.source, 'source')
    .shortText(header.target, 'target')
    .u64(header.expiresAt, 'expiresAt')
    .finish();
}

/** Reads a header from the start of an envelope, leaving the reader on the KEM ciphertext. */
export function readHeader(reader: ByteReader): EnvelopeHeader {
  const version = reader.u8();
  if (version !== ENVELOPE_VERSION) throw new EnvelopeMalformed(`unsupported envelope version ${version}`);
  const code = reader.u8();
  const kind = KINDS_BY_CODE.get(code);
  if (!kind) throw new EnvelopeMalformed(`unknown envelope kind ${code}`);
  return {
    kind,
    subjectId: reader.uuid(),
    source: reader.shortText('source'),
    target: reader.shortText('target'),
    expiresAt: reader.u64('expiresAt'),
  };
}
