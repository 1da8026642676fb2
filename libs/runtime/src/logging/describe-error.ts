/** An error as one log line: its class and message, never a stack or anything a request carried. */
export function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
