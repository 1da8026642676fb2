import type { EtsiError } from './errors';

/** The outcome of parsing or building something at the API edge: a value, or the error to answer with. */
export type Result<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: EtsiError };

export const ok = <T>(value: T): Result<T> => ({ ok: true, value });

export const fail = <T = never>(error: EtsiError): Result<T> => ({ ok: false, error });
