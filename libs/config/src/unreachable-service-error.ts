/**
 * A service that an environment variable names (DATABASE_URL, NATS_URL) could not be used at start-up: the
 * operator's to fix, so the message names the variable, where it points (without credentials) and why.
 */
export class UnreachableServiceError extends Error {
  override readonly name = 'UnreachableServiceError';

  constructor(
    readonly variable: string,
    where: string,
    cause: unknown,
  ) {
    super(`${variable}: cannot use ${where}: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    });
  }
}

/** `url` without its password, for messages. */
export function withoutPassword(url: string): string {
  if (!URL.canParse(url)) return 'the URL given';
  const parsed = new URL(url);
  if (parsed.password !== '') parsed.password = '***';
  return parsed.toString();
}
