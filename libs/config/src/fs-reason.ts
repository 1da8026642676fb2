/** Why a file could not be read, without the absolute path Node appends (the caller names the file). */
export function fsReason(error: unknown): string {
  // Duck-typed: errors thrown by Node's fs may come from another realm (a vm context, Jest).
  const message = (error as { message?: unknown } | undefined)?.message;
  return (typeof message === 'string' ? message : String(error)).split(', ')[0];
}
