import { ConfigError } from './config-error';

/** EX_CONFIG from sysexits.h: lets supervisors tell a bad configuration from a crash. */
export const EX_CONFIG = 78;

function exitIfConfigError(error: unknown): never {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(EX_CONFIG);
  }
  throw error;
}

/**
 * Runs a process's start-up; a ConfigError is printed to stderr, one issue per line, and the process
 * exits with 78 (EX_CONFIG). Any other error propagates unchanged.
 */
export function exitOnConfigError<T>(start: () => Promise<T>): Promise<T>;
export function exitOnConfigError<T>(start: () => T): T;
export function exitOnConfigError<T>(start: () => T | Promise<T>): T | Promise<T> {
  try {
    const result = start();
    return result instanceof Promise ? result.catch(exitIfConfigError) : result;
  } catch (error) {
    return exitIfConfigError(error);
  }
}
