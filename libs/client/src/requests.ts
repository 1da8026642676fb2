import type { KeyIDs, KeyRequest } from '@dqkd/etsi014';

import { EtsiClientError } from './errors';

/** One HTTP exchange with a KME, before it is sent: what the e2e server checks the client sent. */
export interface PlannedRequest {
  readonly method: 'GET' | 'POST';
  /** Path and query, IDs URL-encoded. */
  readonly path: string;
  /** JSON text, for POST only. */
  readonly body?: string;
}

/** The query members GET enc_keys may carry (§5.2): anything else needs POST. */
export type SimpleKeyRequest = Pick<KeyRequest, 'number' | 'size'>;

const keysPath = (saeId: string, route: string): string =>
  `/api/v1/keys/${encodeURIComponent(saeId)}/${route}`;

function withQuery(path: string, query: URLSearchParams): string {
  const text = query.toString();
  return text === '' ? path : `${path}?${text}`;
}

export function statusRequest(slaveSaeId: string): PlannedRequest {
  return { method: 'GET', path: keysPath(slaveSaeId, 'status') };
}

export function encKeysRequest(
  slaveSaeId: string,
  request: KeyRequest,
  method: 'GET' | 'POST',
): PlannedRequest {
  const path = keysPath(slaveSaeId, 'enc_keys');
  if (method === 'POST') return { method, path, body: JSON.stringify(request) };
  // A member set to undefined is not sent by POST either (JSON.stringify drops it).
  const extra = Object.entries(request)
    .filter(([name, value]) => value !== undefined && name !== 'number' && name !== 'size')
    .map(([name]) => name);
  if (extra.length > 0) {
    throw new EtsiClientError(
      'invalid-request',
      `GET enc_keys carries only number and size; send ${extra.join(', ')} with POST`,
    );
  }
  const query = new URLSearchParams();
  if (request.number !== undefined) query.set('number', String(request.number));
  if (request.size !== undefined) query.set('size', String(request.size));
  return { method, path: withQuery(path, query) };
}

/** Key IDs as plain strings, or the full Key IDs format when extensions go with them. */
export type KeyIdsInput = readonly string[] | KeyIDs;

export function toKeyIds(keyIds: KeyIdsInput): KeyIDs {
  return isKeyIdList(keyIds) ? { key_IDs: keyIds.map((key_ID) => ({ key_ID })) } : keyIds;
}

function isKeyIdList(keyIds: KeyIdsInput): keyIds is readonly string[] {
  return Array.isArray(keyIds);
}

export function decKeysRequest(
  masterSaeId: string,
  keyIds: KeyIdsInput,
  method: 'GET' | 'POST',
): PlannedRequest {
  const path = keysPath(masterSaeId, 'dec_keys');
  const body = toKeyIds(keyIds);
  if (method === 'POST') return { method, path, body: JSON.stringify(body) };
  const [only, ...others] = body.key_IDs;
  const withExtensions =
    body.key_IDs_extension !== undefined || Object.keys(only ?? {}).some((name) => name !== 'key_ID');
  if (only === undefined || others.length > 0 || withExtensions) {
    throw new EtsiClientError('invalid-request', 'GET dec_keys asks for exactly one key without extensions');
  }
  return { method, path: withQuery(path, new URLSearchParams({ key_ID: only.key_ID })) };
}
