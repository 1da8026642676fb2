import type { ErrorBody, EtsiErrorStatus, JsonObject } from './dto';

/**
 * Every way an ETSI request can fail, as a value. Each kind maps to exactly one status and message in
 * `toEtsiResponse`; the fields say what the message needs (which member, which limit). Nothing here
 * may ever carry key material.
 */
export type EtsiError =
  // 400: the request is malformed or asks for something this link does not serve.
  | { readonly kind: 'body-not-object' }
  /** A member of the body has the wrong type or form; `member` is its path, e.g. `key_IDs[2].key_ID`. */
  | { readonly kind: 'invalid-member'; readonly member: string; readonly expected: string }
  | { readonly kind: 'number-out-of-range'; readonly max: number }
  | { readonly kind: 'size-not-multiple-of-8' }
  | { readonly kind: 'size-out-of-range'; readonly min: number; readonly max: number }
  | { readonly kind: 'too-many-additional-slaves'; readonly max: number }
  /** `ofPath`: the SAE the path names as the slave, named again in the body. */
  | { readonly kind: 'duplicate-additional-slave'; readonly saeId: string; readonly ofPath?: boolean }
  | { readonly kind: 'duplicate-extension'; readonly member: string; readonly name: string }
  | { readonly kind: 'unsupported-mandatory-extension'; readonly names: readonly string[] }
  | { readonly kind: 'unmet-mandatory-extension'; readonly name: string; readonly requirement: string }
  | {
      readonly kind: 'unexpected-query-parameter';
      readonly route: 'enc_keys' | 'dec_keys';
      readonly parameter: string;
      readonly accepted: readonly string[];
    }
  | { readonly kind: 'invalid-query-parameter'; readonly parameter: string; readonly expected: string }
  /** A POST takes its request from the body only; a query beside it would be ignored unseen. */
  | { readonly kind: 'query-with-post'; readonly route: 'enc_keys' | 'dec_keys' }
  | { readonly kind: 'too-many-key-ids'; readonly max: number }
  | { readonly kind: 'duplicate-key-id'; readonly keyId: string }
  | { readonly kind: 'keys-not-found' }
  | { readonly kind: 'invalid-path-id'; readonly parameter: string; readonly expected: string }
  /** An SAE ID named in the path or the body that the network file does not list. */
  | { readonly kind: 'unknown-sae'; readonly member: string; readonly saeId: string }
  /** A slave named in the path or the body is attached to the caller's own KME: keys join two KMEs. */
  | { readonly kind: 'slave-on-own-kme'; readonly member: string; readonly saeId: string }
  /** The slaves of one request sit on different KMEs; one request serves one link. */
  | { readonly kind: 'slaves-on-several-kmes' }
  | { readonly kind: 'body-not-json' }
  | { readonly kind: 'body-too-large'; readonly max: number }
  /** The body stopped before its end: the client went away or broke its chunked encoding. */
  | { readonly kind: 'body-incomplete' }
  // 401: the caller may not do this.
  | { readonly kind: 'unauthenticated' }
  | { readonly kind: 'not-attached' }
  | { readonly kind: 'not-a-slave' }
  // 503: the KME cannot serve a valid request right now.
  | { readonly kind: 'insufficient-key-material' }
  /** More bits than the link's pool ever holds: valid by the status, yet never servable as it is. */
  | { readonly kind: 'request-beyond-pool'; readonly bits: number; readonly poolBits: number }
  | { readonly kind: 'status-invariant-violated'; readonly invariant: string }
  /** The caller sent more requests than its rate limit allows. */
  | { readonly kind: 'rate-limited' }
  /**
   * A key asked for is held by another request's answer on its way (or by one whose gateway stopped): not
   * delivered yet, and free again should that answer not arrive.
   */
  | { readonly kind: 'keys-in-delivery' }
  | { readonly kind: 'server-error' };

export type EtsiErrorKind = EtsiError['kind'];

/** What the API edge sends for an error: the status code and the ETSI Error body (§6.5). */
export interface EtsiResponse {
  readonly status: EtsiErrorStatus;
  readonly body: ErrorBody;
}

export const MESSAGE_SIZE_NOT_MULTIPLE_OF_8 = 'size shall be a multiple of 8';
export const MESSAGE_UNSUPPORTED_MANDATORY_EXTENSION = 'not all extension_mandatory parameters are supported';
export const MESSAGE_UNMET_MANDATORY_EXTENSION = 'not all extension_mandatory request options could be met';
export const MESSAGE_KEYS_NOT_FOUND = 'one or more keys specified are not found on KME';

const QUOTED_LENGTH = 64;
/** Unsupported mandatory extensions named one by one; a body of thousands would otherwise bloat the answer. */
const NAMED_EXTENSIONS = 16;

// Callers' values are echoed in messages, bounded so that a huge value cannot bloat the answer.
function bounded(value: string): string {
  return value.length > QUOTED_LENGTH ? `${value.slice(0, QUOTED_LENGTH)}…` : value;
}

function quote(value: string): string {
  return JSON.stringify(bounded(value));
}

function badRequest(message: string, details?: readonly JsonObject[]): EtsiResponse {
  return { status: 400, body: details ? { message, details } : { message } };
}

function unauthorized(message: string): EtsiResponse {
  return { status: 401, body: { message } };
}

function serverError(message: string): EtsiResponse {
  return { status: 503, body: { message } };
}

function unreachable(error: never): never {
  throw new TypeError(`unknown ETSI error ${JSON.stringify(error)}`);
}

/** The one status code and Error body each error is answered with. */
export function toEtsiResponse(error: EtsiError): EtsiResponse {
  switch (error.kind) {
    case 'body-not-object':
      return badRequest('the request body shall be a JSON object');
    case 'invalid-member':
      return badRequest(`${error.member} shall be ${error.expected}`);
    case 'number-out-of-range':
      return badRequest(`number shall be an integer from 1 to ${error.max} (max_key_per_request)`);
    case 'size-not-multiple-of-8':
      return badRequest(MESSAGE_SIZE_NOT_MULTIPLE_OF_8);
    case 'size-out-of-range':
      return badRequest(
        `size shall be from ${error.min} to ${error.max} bits (min_key_size to max_key_size)`,
      );
    case 'too-many-additional-slaves':
      return badRequest(
        error.max === 0
          ? 'additional_slave_SAE_IDs shall be empty: this link serves no multicast (max_SAE_ID_count is 0)'
          : `additional_slave_SAE_IDs shall name at most ${error.max} SAE ${error.max === 1 ? 'ID' : 'IDs'}` +
              ' (max_SAE_ID_count)',
      );
    case 'duplicate-additional-slave':
      return badRequest(
        error.ofPath === true
          ? `additional_slave_SAE_IDs shall not name the path's slave_SAE_ID again: ${quote(error.saeId)}`
          : `additional_slave_SAE_IDs shall not repeat an SAE ID: ${quote(error.saeId)}`,
      );
    case 'duplicate-extension':
      return badRequest(`${error.member} shall not repeat an extension name: ${quote(error.name)}`);
    case 'unsupported-mandatory-extension':
      return badRequest(MESSAGE_UNSUPPORTED_MANDATORY_EXTENSION, [
        ...error.names
          .slice(0, NAMED_EXTENSIONS)
          .map((name) => ({ extension_mandatory_unsupported: `${bounded(name)} is not supported` })),
        ...(error.names.length > NAMED_EXTENSIONS
          ? [{ extension_mandatory_unsupported: `and ${error.names.length - NAMED_EXTENSIONS} more` }]
          : []),
      ]);
    case 'unmet-mandatory-extension':
      return badRequest(MESSAGE_UNMET_MANDATORY_EXTENSION, [
        { extension_mandatory_unmet: `${error.name} shall be ${error.requirement}` },
      ]);
    case 'unexpected-query-parameter':
      return badRequest(
        `GET ${error.route} takes only the query parameters ${error.accepted.join(' and ')}, ` +
          `not ${quote(error.parameter)}; send anything else with POST`,
      );
    case 'invalid-query-parameter':
      return badRequest(`query parameter ${error.parameter} shall be ${error.expected}`);
    case 'query-with-post':
      return badRequest(`POST ${error.route} takes its request in the JSON body, not the query string`);
    case 'too-many-key-ids':
      return badRequest(`key_IDs shall list at most ${error.max} keys`);
    case 'duplicate-key-id':
      return badRequest(`key_IDs shall not repeat a key_ID: ${quote(error.keyId)}`);
    case 'keys-not-found':
      return badRequest(MESSAGE_KEYS_NOT_FOUND);
    case 'invalid-path-id':
      return badRequest(`${error.parameter} in the path shall be ${error.expected}`);
    case 'unknown-sae':
      return badRequest(`${error.member} ${quote(error.saeId)} is not an SAE of this network`);
    case 'slave-on-own-kme':
      return badRequest(
        `${error.member} ${quote(error.saeId)} is attached to this KME; keys are shared with another KME's SAEs`,
      );
    case 'slaves-on-several-kmes':
      return badRequest('all slave SAEs of one request shall be attached to the same KME');
    case 'body-not-json':
      return badRequest('the request body shall be JSON (RFC 8259)');
    case 'body-too-large':
      return badRequest(`the request body shall be at most ${error.max} bytes`);
    case 'body-incomplete':
      return badRequest('the request body ended before it was whole');
    case 'unauthenticated':
      return unauthorized('a valid client certificate of a known SAE is required');
    case 'not-attached':
      return unauthorized('the caller is not an SAE attached to this KME');
    case 'not-a-slave':
      return unauthorized('the caller is not a slave SAE of every key requested');
    case 'insufficient-key-material':
      return serverError('not enough key material is ready on this link; retry later');
    case 'request-beyond-pool':
      return serverError(
        `the request asks for ${error.bits} bits of key material, more than this link's pool ever holds ` +
          `(${error.poolBits} bits); ask for fewer or smaller keys`,
      );
    case 'status-invariant-violated':
      return serverError(`error on server side: the link's limits break ${error.invariant}`);
    case 'rate-limited':
      return serverError('too many requests from this SAE; retry later');
    case 'keys-in-delivery':
      return serverError(
        'one or more keys specified are being delivered on another request; retry later if that answer ' +
          'does not arrive',
      );
    case 'server-error':
      return serverError('error on server side');
    default:
      return unreachable(error);
  }
}
