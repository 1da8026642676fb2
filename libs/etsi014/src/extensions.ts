import { isInteger, isJsonObject } from './json';
import { MAX_TTL_SECONDS, type EtsiLimits } from './limits';
import { fail, ok, type Result } from './result';

/** DQKD's vendor extension: the key's decode deadline, in seconds after enc_keys. */
export const DQKD_TTL = 'dqkd_ttl';

const SUPPORTED_EXTENSIONS: ReadonlySet<string> = new Set([DQKD_TTL]);

type ExtensionField = 'extension_mandatory' | 'extension_optional';

/**
 * The value of an optional extension named more than once: a wish that contradicts itself, left unhandled
 * like an unknown optional extension (the spec lets the KME answer normally then).
 */
const REPEATED = Symbol('repeated optional extension');

/**
 * The name/value pairs of `extension_mandatory` or `extension_optional`: an array of objects, each with one
 * or more names. A mandatory name may appear once, so that no requirement silently overrides another (unless
 * an unknown mandatory extension is named too: the spec's answer to that comes first, see resolveExtensions);
 * an optional name given twice is ignored.
 */
export function readExtensions(value: unknown, field: ExtensionField): Result<ReadonlyMap<string, unknown>> {
  const pairs = new Map<string, unknown>();
  if (value === undefined) return ok(pairs);
  if (!Array.isArray(value)) {
    return fail({ kind: 'invalid-member', member: field, expected: 'an array of objects' });
  }
  let repeated: string | undefined;
  for (const [index, extension] of value.entries()) {
    if (!isJsonObject(extension)) {
      return fail({ kind: 'invalid-member', member: `${field}[${index}]`, expected: 'an object' });
    }
    for (const [name, extensionValue] of Object.entries(extension)) {
      if (!pairs.has(name)) pairs.set(name, extensionValue);
      else if (field === 'extension_optional') pairs.set(name, REPEATED);
      else repeated ??= name;
    }
  }
  const unknown = [...pairs.keys()].some((name) => !SUPPORTED_EXTENSIONS.has(name));
  if (repeated !== undefined && !unknown) {
    return fail({ kind: 'duplicate-extension', member: field, name: repeated });
  }
  return ok(pairs);
}

/** The longest TTL this link grants: its own limit, never beyond one hour. */
function maxTtlOf(limits: EtsiLimits): number {
  return Math.min(limits.maxTtlSeconds, MAX_TTL_SECONDS);
}

/**
 * The decode deadline a request asks for, in seconds. A mandatory `dqkd_ttl` must be an integer the link
 * grants. An optional one is a wish: clamped into range when it is a whole number, ignored otherwise (the
 * spec lets a KME answer normally when it leaves an optional extension unhandled). Mandatory wins over optional.
 * Unknown optional extensions are ignored; unknown mandatory ones are all named in the error.
 */
export function resolveExtensions(
  mandatory: ReadonlyMap<string, unknown>,
  optional: ReadonlyMap<string, unknown>,
  limits: EtsiLimits,
): Result<{ readonly ttlSeconds: number }> {
  const unsupported = [...mandatory.keys()].filter((name) => !SUPPORTED_EXTENSIONS.has(name));
  if (unsupported.length > 0) return fail({ kind: 'unsupported-mandatory-extension', names: unsupported });

  const maxTtl = maxTtlOf(limits);
  if (mandatory.has(DQKD_TTL)) {
    const ttl = mandatory.get(DQKD_TTL);
    if (!isInteger(ttl) || ttl < 1 || ttl > maxTtl) {
      return fail({
        kind: 'unmet-mandatory-extension',
        name: DQKD_TTL,
        requirement: `an integer number of seconds from 1 to ${maxTtl}`,
      });
    }
    return ok({ ttlSeconds: ttl });
  }
  const wish = optional.get(DQKD_TTL);
  // Any whole number is clamped, also one beyond the safe integers (-1e16 asks for the shortest TTL), and one
  // too large for a double (1e400 parses as Infinity).
  if (typeof wish === 'number' && (Number.isInteger(wish) || !Number.isFinite(wish))) {
    return ok({ ttlSeconds: Math.min(Math.max(wish, 1), maxTtl) });
  }
  return ok({ ttlSeconds: Math.min(limits.defaultTtlSeconds, maxTtl) });
}
