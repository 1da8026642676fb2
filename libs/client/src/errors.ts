import type { ErrorBody } from '@dqkd/etsi014';

/** A KME's answer other than 200, with its ETSI Error body (§6.5). */
export class EtsiHttpError extends Error {
  override readonly name = 'EtsiHttpError';

  constructor(
    readonly status: number,
    readonly body: ErrorBody,
    readonly method: string,
    readonly path: string,
  ) {
    super(`${method} ${path} answered ${status}: ${body.message}`);
  }
}

export type EtsiClientErrorCode =
  /** The options or the arguments cannot make a request (e.g. GET dec_keys for two keys). */
  | 'invalid-request'
  /** No connection, or TLS refused: the KME's certificate did not verify, or ours was not accepted. */
  | 'connection'
  | 'timeout'
  /** A 200 whose body is not the JSON the spec defines for the route, or that exceeds the size bound. */
  | 'invalid-response';

/** A failure on the client's side of the exchange, before or instead of an ETSI answer. */
export class EtsiClientError extends Error {
  override readonly name = 'EtsiClientError';

  constructor(
    readonly code: EtsiClientErrorCode,
    message: string,
    options?: { readonly cause?: unknown },
  ) {
    super(message, options);
  }
}
