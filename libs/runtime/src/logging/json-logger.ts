import { ConfigError, UnreachableServiceError, type LogLevel } from '@dqkd/config';
import type { LoggerService } from '@nestjs/common';
import pino, { type DestinationStream, type Logger as Pino } from 'pino';

import { currentLogFields } from './log-context';

type PinoLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

/** Errors some JsonLogger was given: a process that fails to start logs its error once, not twice. */
const loggedErrors = new WeakSet<Error>();

/** Whether a JsonLogger was given `error` (Nest logs most errors of starting an app itself). */
export function wasLogged(error: unknown): boolean {
  return error instanceof Error && loggedErrors.has(error);
}

/**
 * Nest's logger interface over pino: one JSON object per line on stdout, with the level's name, an ISO time,
 * the Nest context (the class or app that logs) and the fields of the current log context (app, KME,
 * request ID, SAE). Messages are written as the code words them, so they name IDs, never key material.
 */
export class JsonLogger implements LoggerService {
  constructor(private readonly pino: Pino) {}

  log(message: unknown, ...params: unknown[]): void {
    this.write('info', message, params);
  }
  error(message: unknown, ...params: unknown[]): void {
    this.write('error', message, params);
  }
  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params);
  }
  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }
  verbose(message: unknown, ...params: unknown[]): void {
    this.write('trace', message, params);
  }
  fatal(message: unknown, ...params: unknown[]): void {
    this.write('fatal', message, params);
  }

  private write(level: PinoLevel, message: unknown, params: unknown[]): void {
    if (message instanceof Error) loggedErrors.add(message);
    if (!this.pino.isLevelEnabled(level)) return;
    // Nest passes the logger's context last, and an error's stack before it.
    const rest = [...params];
    const fields: Record<string, unknown> = {};
    if (rest.length > 0 && typeof rest[rest.length - 1] === 'string') fields['context'] = rest.pop();
    if (level === 'error' && typeof rest[0] === 'string') fields['stack'] = rest[0];
    const mistake = operatorMistake(message);
    if (mistake !== undefined) {
      // The operator's to fix, not a bug: the message says what, and a stack would only bury it.
      this.pino[level]({ context: fields['context'] }, mistake);
    } else if (message instanceof Error) {
      this.pino[level]({ ...fields, err: message }, message.message);
    } else if (typeof message === 'object' && message !== null) {
      this.pino[level]({ ...fields, ...(message as object) });
    } else {
      this.pino[level](fields, String(message));
    }
  }
}

/**
 * What an error that a configuration causes says to the operator: a service the environment names that
 * cannot be reached or does not suit (a ConfigError found once connected), or a file it names (or one under
 * DQKD_HOME) that cannot be read. Undefined for others.
 */
function operatorMistake(error: unknown): string | undefined {
  if (error instanceof UnreachableServiceError || error instanceof ConfigError) return error.message;
  if (!(error instanceof Error)) return undefined;
  // Opening a file only: a failed spawn, mkdir or the like is more likely a bug, and keeps its stack.
  const { code, path, syscall } = error as NodeJS.ErrnoException;
  if (syscall !== 'open' || typeof path !== 'string' || !FILE_ERRORS.has(code ?? '')) return undefined;
  return `cannot open ${path} (${code}): check DQKD_HOME and the *_FILE variable that names it`;
}

const FILE_ERRORS = new Set(['ENOENT', 'EACCES', 'EISDIR', 'ENOTDIR']);

/** A JsonLogger at LOG_LEVEL; `destination` is stdout unless a test captures the lines. */
export function createJsonLogger(level: LogLevel, destination?: DestinationStream): JsonLogger {
  const options: pino.LoggerOptions = {
    level,
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    mixin: () => currentLogFields(),
  };
  return new JsonLogger(destination ? pino(options, destination) : pino(options));
}
