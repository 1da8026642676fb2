import { fail, ok, type Result } from './result';

/**
 * A request's query as the HTTP layer hands it over: `URLSearchParams`, or the object Express and most
 * routers build (a value is a string, or an array when the name repeats, or an object for `a[b]=` syntax).
 */
export type QueryInput = URLSearchParams | Readonly<Record<string, unknown>>;

// Decimal digits only: no sign, no exponent, no whitespace. However many: a value past the exact integers
// meets the range checks of POST.
const DECIMAL = /^[0-9]+$/;

const DECIMAL_EXPECTATION = 'a decimal integer (digits only)';

/**
 * The query parameters of a GET route, each given at most once and as a plain string; any name outside
 * `accepted` is refused because the spec allows GET only for requests that need nothing else.
 */
export function readQuery(
  query: QueryInput,
  route: 'enc_keys' | 'dec_keys',
  accepted: readonly string[],
): Result<ReadonlyMap<string, string>> {
  const entries: [string, unknown][] =
    query instanceof URLSearchParams ? [...query.entries()] : Object.entries(query);
  const values = new Map<string, string>();
  for (const [parameter, value] of entries) {
    if (!accepted.includes(parameter)) {
      return fail({ kind: 'unexpected-query-parameter', route, parameter, accepted });
    }
    if (values.has(parameter) || Array.isArray(value)) {
      return fail({ kind: 'invalid-query-parameter', parameter, expected: 'given once' });
    }
    if (typeof value !== 'string') {
      return fail({ kind: 'invalid-query-parameter', parameter, expected: 'a plain value' });
    }
    values.set(parameter, value);
  }
  return ok(values);
}

export function readDecimal(
  values: ReadonlyMap<string, string>,
  parameter: string,
): Result<number | undefined> {
  const text = values.get(parameter);
  if (text === undefined) return ok(undefined);
  if (!DECIMAL.test(text)) {
    return fail({ kind: 'invalid-query-parameter', parameter, expected: DECIMAL_EXPECTATION });
  }
  // Past any double (309 digits and more) it would be Infinity, which no check takes for an integer.
  return ok(Math.min(Number(text), Number.MAX_VALUE));
}
