import { canonicalUuid, isUuid, UUID_EXPECTATION } from './ids';
import { isJsonObject, member } from './json';
import type { EtsiLimits } from './limits';
import { readQuery, type QueryInput } from './query';
import { fail, ok, type Result } from './result';

/** A dec_keys request after validation: key IDs in lower case, in the order asked, none repeated. */
export interface DecKeysRequest {
  readonly keyIds: readonly string[];
}

function checkOptionalObject(value: unknown, name: string): Result<void> {
  return value === undefined || isJsonObject(value)
    ? ok(undefined)
    : fail({ kind: 'invalid-member', member: name, expected: 'an object' });
}

/**
 * The body of `POST dec_keys` (Table 12). Unknown members are accepted, in entries too: some clients add
 * `master_SAE_ID` there. Duplicates are refused rather than merged, because a key is delivered at most
 * once and a repeated ID is a client bug worth telling.
 */
export function parseDecKeysBody(body: unknown, limits: EtsiLimits): Result<DecKeysRequest> {
  if (!isJsonObject(body)) return fail({ kind: 'body-not-object' });
  const extension = checkOptionalObject(member(body, 'key_IDs_extension'), 'key_IDs_extension');
  if (!extension.ok) return extension;

  const entries = member(body, 'key_IDs');
  if (!Array.isArray(entries) || entries.length === 0) {
    return fail({ kind: 'invalid-member', member: 'key_IDs', expected: 'a non-empty array' });
  }
  if (entries.length > limits.maxKeyIdsPerRequest) {
    return fail({ kind: 'too-many-key-ids', max: limits.maxKeyIdsPerRequest });
  }
  const keyIds = new Set<string>();
  for (const [index, entry] of entries.entries()) {
    const name = `key_IDs[${index}]`;
    if (!isJsonObject(entry)) return fail({ kind: 'invalid-member', member: name, expected: 'an object' });
    const keyId = member(entry, 'key_ID');
    if (!isUuid(keyId)) {
      return fail({ kind: 'invalid-member', member: `${name}.key_ID`, expected: UUID_EXPECTATION });
    }
    const entryExtension = checkOptionalObject(member(entry, 'key_ID_extension'), `${name}.key_ID_extension`);
    if (!entryExtension.ok) return entryExtension;
    const canonical = canonicalUuid(keyId);
    if (keyIds.has(canonical)) return fail({ kind: 'duplicate-key-id', keyId });
    keyIds.add(canonical);
  }
  return ok({ keyIds: [...keyIds] });
}

/** The query of `GET dec_keys`: exactly one `key_ID`, a UUID, and nothing else. */
export function parseDecKeysQuery(query: QueryInput): Result<DecKeysRequest> {
  const values = readQuery(query, 'dec_keys', ['key_ID']);
  if (!values.ok) return values;
  const keyId = values.value.get('key_ID');
  if (keyId === undefined) {
    return fail({
      kind: 'invalid-query-parameter',
      parameter: 'key_ID',
      expected: 'given, the ID of the key to fetch',
    });
  }
  if (!isUuid(keyId)) {
    return fail({ kind: 'invalid-query-parameter', parameter: 'key_ID', expected: UUID_EXPECTATION });
  }
  return ok({ keyIds: [canonicalUuid(keyId)] });
}
