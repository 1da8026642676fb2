import { readExtensions, resolveExtensions } from './extensions';
import { ID_EXPECTATION, isValidId } from './ids';
import { isInteger, isJsonObject, member } from './json';
import type { EtsiLimits } from './limits';
import { readDecimal, readQuery, type QueryInput } from './query';
import { fail, ok, type Result } from './result';

/** An enc_keys request after validation against a link's limits, defaults filled in. */
export interface EncKeysRequest {
  readonly number: number;
  /** Bits per key. */
  readonly size: number;
  readonly additionalSlaveSaeIds: readonly string[];
  /** Decode deadline, in seconds after enc_keys. */
  readonly ttlSeconds: number;
}

function checkNumber(number: number, limits: EtsiLimits): Result<number> {
  return number >= 1 && number <= limits.maxKeyPerRequest
    ? ok(number)
    : fail({ kind: 'number-out-of-range', max: limits.maxKeyPerRequest });
}

function checkSize(size: number, limits: EtsiLimits): Result<number> {
  if (size % 8 !== 0) return fail({ kind: 'size-not-multiple-of-8' });
  return size >= limits.minKeySize && size <= limits.maxKeySize
    ? ok(size)
    : fail({ kind: 'size-out-of-range', min: limits.minKeySize, max: limits.maxKeySize });
}

function readInteger(value: unknown, name: string, fallback: number): Result<number> {
  if (value === undefined) return ok(fallback);
  return isInteger(value)
    ? ok(value)
    : fail({ kind: 'invalid-member', member: name, expected: 'an integer' });
}

function readAdditionalSlaves(value: unknown, limits: EtsiLimits): Result<readonly string[]> {
  const name = 'additional_slave_SAE_IDs';
  if (value === undefined) return ok([]);
  if (!Array.isArray(value)) {
    return fail({ kind: 'invalid-member', member: name, expected: 'an array of SAE IDs' });
  }
  // Counted first, so a huge list costs no more than a short one.
  if (value.length > limits.maxSaeIdCount) {
    return fail({ kind: 'too-many-additional-slaves', max: limits.maxSaeIdCount });
  }
  const seen = new Set<string>();
  for (const [index, saeId] of value.entries()) {
    if (!isValidId(saeId)) {
      return fail({ kind: 'invalid-member', member: `${name}[${index}]`, expected: ID_EXPECTATION });
    }
    if (seen.has(saeId)) return fail({ kind: 'duplicate-additional-slave', saeId });
    seen.add(saeId);
  }
  return ok([...seen]);
}

/**
 * The body of `POST enc_keys` (Table 10), as parsed from JSON. Every member is optional and `{}` asks for
 * one key of the default size. Types are strict: `"3"`, `1.5` or `true` are not integers, and `null` is
 * a value, not an absent member. Members the spec does not define are ignored, because the spec does not
 * forbid them and clients in the field add their own.
 */
export function parseEncKeysBody(body: unknown, limits: EtsiLimits): Result<EncKeysRequest> {
  if (!isJsonObject(body)) return fail({ kind: 'body-not-object' });

  const number = readInteger(member(body, 'number'), 'number', 1);
  if (!number.ok) return number;
  const checkedNumber = checkNumber(number.value, limits);
  if (!checkedNumber.ok) return checkedNumber;

  const size = readInteger(member(body, 'size'), 'size', limits.keySize);
  if (!size.ok) return size;
  const checkedSize = checkSize(size.value, limits);
  if (!checkedSize.ok) return checkedSize;

  const additionalSlaveSaeIds = readAdditionalSlaves(member(body, 'additional_slave_SAE_IDs'), limits);
  if (!additionalSlaveSaeIds.ok) return additionalSlaveSaeIds;

  const mandatory = readExtensions(member(body, 'extension_mandatory'), 'extension_mandatory');
  if (!mandatory.ok) return mandatory;
  const optional = readExtensions(member(body, 'extension_optional'), 'extension_optional');
  if (!optional.ok) return optional;
  const extensions = resolveExtensions(mandatory.value, optional.value, limits);
  if (!extensions.ok) return extensions;

  return ok({
    number: checkedNumber.value,
    size: checkedSize.value,
    additionalSlaveSaeIds: additionalSlaveSaeIds.value,
    ttlSeconds: extensions.value.ttlSeconds,
  });
}

/** The query of `GET enc_keys`: nothing, or `number` and/or `size` as decimal integers, and nothing else. */
export function parseEncKeysQuery(query: QueryInput, limits: EtsiLimits): Result<EncKeysRequest> {
  const values = readQuery(query, 'enc_keys', ['number', 'size']);
  if (!values.ok) return values;
  const number = readDecimal(values.value, 'number');
  if (!number.ok) return number;
  const size = readDecimal(values.value, 'size');
  if (!size.ok) return size;
  // The same rules as POST apply once the strings are numbers, so both forms answer alike.
  return parseEncKeysBody({ number: number.value, size: size.value }, limits);
}
