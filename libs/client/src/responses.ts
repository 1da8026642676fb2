import type { ErrorBody, JsonObject, KeyContainer, Status } from '@dqkd/etsi014';

import { EtsiClientError } from './errors';

const STATUS_STRINGS = ['source_KME_ID', 'target_KME_ID', 'master_SAE_ID', 'slave_SAE_ID'] as const;
const STATUS_INTEGERS = [
  'key_size',
  'stored_key_count',
  'max_key_count',
  'max_key_per_request',
  'max_key_size',
  'min_key_size',
  'max_SAE_ID_count',
] as const;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new EtsiClientError('invalid-response', `${what} is not JSON`, { cause: error });
  }
}

function invalid(what: string, problem: string): EtsiClientError {
  return new EtsiClientError('invalid-response', `${what} ${problem}`);
}

/** A 200 answer of the status route, checked to have every field of Table 9 with its type. */
export function readStatus(text: string): Status {
  const what = 'the status answer';
  const status = parseJson(text, what);
  if (!isObject(status)) throw invalid(what, 'is not a JSON object');
  for (const name of STATUS_STRINGS) {
    if (typeof status[name] !== 'string') throw invalid(what, `has no string ${name}`);
  }
  for (const name of STATUS_INTEGERS) {
    if (!Number.isSafeInteger(status[name])) throw invalid(what, `has no integer ${name}`);
  }
  return status as unknown as Status;
}

/** A 200 answer of enc_keys or dec_keys, checked to be a key container (Table 11). */
export function readKeyContainer(text: string): KeyContainer {
  const what = 'the key container';
  const container = parseJson(text, what);
  if (!isObject(container) || !Array.isArray(container.keys)) throw invalid(what, 'has no keys array');
  for (const [index, key] of container.keys.entries()) {
    if (!isObject(key) || typeof key.key_ID !== 'string' || typeof key.key !== 'string') {
      throw invalid(what, `has no key_ID and key strings in keys[${index}]`);
    }
  }
  return container as unknown as KeyContainer;
}

/**
 * The Error body of a non-200 answer. A body that is not the ETSI format (a proxy's HTML page, an empty
 * 401) still yields a message, so callers handle every failure the same way.
 */
export function readErrorBody(status: number, text: string): ErrorBody {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (!isObject(body) || typeof body.message !== 'string') {
    return { message: `HTTP ${status} without an ETSI Error body` };
  }
  const details = Array.isArray(body.details) ? body.details.filter(isObject) : undefined;
  return details ? { message: body.message, details } : { message: body.message };
}
