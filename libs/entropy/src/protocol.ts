import type { SampleRef } from '@dqkd/blast';

/**
 * The entropy-server API, HTTPS with mutual TLS; the caller is the KME named by its client certificate.
 * Both ends import this file, so the wire format has one definition.
 */
export const LEASE_PATH = '/v1/leases';
export const READ_PATH = '/v1/reads';

/** Largest JSON body either route accepts; requests are a few hundred bytes. */
export const MAX_REQUEST_BYTES = 4096;

/** `POST /v1/leases`: fresh bytes that only `readers` (the caller and the other end of its link) may read. */
export interface LeaseRequestBody {
  readonly bytes: number;
  readonly readers: readonly string[];
  /** UTC ms; the server may shorten it to its pool's shred deadline and says so in `ref.not_after`. */
  readonly not_after: number;
}

/** `POST /v1/reads`: the second read of a leased sample, by the other listed reader. */
export interface ReadRequestBody {
  readonly pool_id: string;
  readonly offset: number;
  readonly length: number;
  /**
   * The KME the reader expects to have leased the sample (the block's source); left out only by KMEs of
   * versions before it, which the servers still answer without that check.
   */
  readonly leased_by?: string;
}

export interface SampleRefBody {
  readonly server_id: string;
  readonly pool_id: string;
  readonly offset: number;
  readonly length: number;
  readonly not_after: number;
}

/** The answer to both routes: the reference and the sample sealed to the caller (base64 envelope, kind `sample`). */
export interface SampleAnswerBody {
  readonly ref: SampleRefBody;
  readonly sample: string;
}

/** Why a sample is refused; the first four are the answers to a read the issue names. */
export const REFUSAL_REASONS = [
  'unknown',
  'expired',
  'already-read',
  'not-yours',
  'not-a-kme',
  'invalid-request',
  'exhausted',
  'rate-limited',
  'internal',
] as const;

export type RefusalReason = (typeof REFUSAL_REASONS)[number];

export const REFUSAL_STATUS: Readonly<Record<RefusalReason, number>> = {
  unknown: 404,
  expired: 410,
  'already-read': 409,
  'not-yours': 403,
  'not-a-kme': 403,
  'invalid-request': 400,
  exhausted: 503,
  'rate-limited': 429,
  internal: 500,
};

export interface RefusalBody {
  readonly error: RefusalReason;
  readonly message: string;
}

export function refBody(ref: SampleRef): SampleRefBody {
  return {
    server_id: ref.serverId,
    pool_id: ref.poolId,
    offset: ref.offset,
    length: ref.length,
    not_after: ref.notAfter,
  };
}

export function refOf(body: SampleRefBody): SampleRef {
  return {
    serverId: body.server_id,
    poolId: body.pool_id,
    offset: body.offset,
    length: body.length,
    notAfter: body.not_after,
  };
}

export function isRefusalReason(value: unknown): value is RefusalReason {
  return typeof value === 'string' && (REFUSAL_REASONS as readonly string[]).includes(value);
}

/**
 * What a sample envelope seals: u64 offset (big-endian) ‖ the sample bytes. Its header carries the pool
 * ID as subject, the server as source and the reference's not-after as expiry, so together they bind
 * the bytes to exactly one reference.
 */
export function encodeSamplePlaintext(offset: number, bytes: Uint8Array): Uint8Array {
  const plaintext = new Uint8Array(8 + bytes.length);
  new DataView(plaintext.buffer).setBigUint64(0, BigInt(offset));
  plaintext.set(bytes, 8);
  return plaintext;
}

export function decodeSamplePlaintext(
  plaintext: Uint8Array,
): { offset: number; bytes: Uint8Array } | undefined {
  if (plaintext.length < 8) return undefined;
  const offset = new DataView(plaintext.buffer, plaintext.byteOffset, 8).getBigUint64(0);
  if (offset > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  return { offset: Number(offset), bytes: plaintext.subarray(8) };
}
