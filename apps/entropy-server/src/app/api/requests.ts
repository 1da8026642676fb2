import type { LeaseRequestBody, ReadRequestBody } from '@dqkd/entropy';

type Parsed<T> = { readonly value: T } | { readonly problem: string };

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const isCount = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;

function onlyFields(body: Record<string, unknown>, fields: readonly string[]): string | undefined {
  const unknown = Object.keys(body).find((key) => !fields.includes(key));
  return unknown === undefined ? undefined : `unknown field "${unknown}"`;
}

/** `{bytes, readers, not_after}` with exactly those fields; the pools check the values' meaning. */
export function parseLeaseRequest(body: unknown): Parsed<LeaseRequestBody> {
  if (!isRecord(body)) return { problem: 'the body must be a JSON object' };
  const extra = onlyFields(body, ['bytes', 'readers', 'not_after']);
  if (extra) return { problem: extra };
  const { bytes, readers, not_after } = body;
  if (!isCount(bytes)) return { problem: 'bytes must be a non-negative integer' };
  if (!Array.isArray(readers) || !readers.every((reader) => typeof reader === 'string')) {
    return { problem: 'readers must be a list of KME IDs' };
  }
  if (!isCount(not_after)) return { problem: 'not_after must be a UTC time in milliseconds' };
  return { value: { bytes, readers: readers as string[], not_after } };
}

/**
 * `{pool_id, offset, length, leased_by}` with no other fields; `leased_by` may be left out by KMEs of earlier
 * versions, during an upgrade that updates the entropy servers first.
 */
export function parseReadRequest(body: unknown): Parsed<ReadRequestBody> {
  if (!isRecord(body)) return { problem: 'the body must be a JSON object' };
  const extra = onlyFields(body, ['pool_id', 'offset', 'length', 'leased_by']);
  if (extra) return { problem: extra };
  const { pool_id, offset, length, leased_by } = body;
  if (typeof pool_id !== 'string' || pool_id.length === 0 || pool_id.length > 64) {
    return { problem: 'pool_id must be a pool ID' };
  }
  if (!isCount(offset)) return { problem: 'offset must be a non-negative integer' };
  if (!isCount(length) || length === 0) return { problem: 'length must be a positive integer' };
  if (leased_by === undefined) return { value: { pool_id, offset, length } };
  if (typeof leased_by !== 'string' || leased_by.length === 0 || leased_by.length > 64) {
    return { problem: 'leased_by must be a KME ID' };
  }
  return { value: { pool_id, offset, length, leased_by } };
}
