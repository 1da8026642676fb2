import type { EtsiError } from './errors';
import { fail, ok, type Result } from './result';

/** Longest KME or SAE ID accepted in a path or a body. */
export const MAX_ID_LENGTH = 256;

// Control, format, surrogate, private-use and unassigned code points, and line or paragraph separators.
const UNPRINTABLE = /[\p{C}\p{Zl}\p{Zp}]/u;

// RFC 4122 §3: 8-4-4-4-12 hexadecimal digits, either case.
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const ID_EXPECTATION = `a non-empty printable string of at most ${MAX_ID_LENGTH} characters`;
export const UUID_EXPECTATION = 'a UUID in its canonical textual form (RFC 4122)';

/** KME and SAE IDs are free-form in the spec; DQKD only asks that they be printable and bounded. */
export function isValidId(value: unknown): value is string {
  return (
    typeof value === 'string' && value.length > 0 && value.length <= MAX_ID_LENGTH && !UNPRINTABLE.test(value)
  );
}

export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}

/** One spelling per key ID, so lookups and duplicate checks do not depend on the caller's letter case. */
export function canonicalUuid(value: string): string {
  return value.toLowerCase();
}

/**
 * The ID in a path segment (`slave_SAE_ID` or `master_SAE_ID`), from the segment as it came over the wire,
 * still URL-encoded: routers that decode parameters already must not hand their result here, or `%25`
 * would be decoded twice.
 */
export function parsePathId(segment: string, parameter: 'slave_SAE_ID' | 'master_SAE_ID'): Result<string> {
  const invalid = (expected: string): Result<string> =>
    fail({ kind: 'invalid-path-id', parameter, expected } satisfies EtsiError);
  let decoded: string;
  try {
    decoded = decodeURIComponent(segment);
  } catch {
    return invalid('validly URL-encoded UTF-8');
  }
  return isValidId(decoded) ? ok(decoded) : invalid(ID_EXPECTATION);
}
