import type { LogLevel } from '@dqkd/config';
import type { LogLevel as NestLogLevel } from '@nestjs/common';

// Nest's levels run the other way round and have no `trace`/`fatal` split; map each DQKD
// level to everything at least as severe.
const severity: readonly NestLogLevel[] = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'];
const cutoff: Record<LogLevel, number> = {
  silent: -1,
  fatal: 0,
  error: 1,
  warn: 2,
  info: 3,
  debug: 4,
  trace: 5,
};

/** The Nest logger levels that LOG_LEVEL lets through; `silent` gives none. */
export function nestLogLevels(level: LogLevel): NestLogLevel[] | false {
  const last = cutoff[level];
  return last < 0 ? false : severity.slice(0, last + 1);
}
