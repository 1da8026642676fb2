import { readFileSync } from 'node:fs';

import { LedgerConfigError } from '../errors';

export const KEK_BYTES = 32;

export interface Kek {
  readonly version: number;
  readonly key: Buffer;
}

const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Versioned key-encryption keys. The highest version wraps new data keys; older versions stay only so that
 * rows wrapped before a rotation can still be opened (and rewrapped).
 */
export class Keyring {
  private constructor(
    private readonly keks: ReadonlyMap<number, Buffer>,
    readonly current: Kek,
  ) {}

  /** Parses `<version>:<base64 of 32 bytes>[,…]`; `variable` is named in every error. */
  static parse(text: string, variable: string): Keyring {
    const entries = text
      .trim()
      .split(',')
      .map((entry) => entry.trim());
    if (entries.length === 1 && entries[0] === '') {
      throw new LedgerConfigError(variable, 'is empty; expected <version>:<base64 of 32 bytes>[,…]');
    }
    const keks = new Map<number, Buffer>();
    entries.forEach((entry, index) => {
      const separator = entry.indexOf(':');
      const versionText = separator < 0 ? '' : entry.slice(0, separator);
      const keyText = separator < 0 ? '' : entry.slice(separator + 1);
      if (!/^[1-9][0-9]{0,8}$/.test(versionText)) {
        throw new LedgerConfigError(
          variable,
          `entry ${index + 1} must start with a positive integer version and a colon`,
        );
      }
      const version = Number(versionText);
      if (keks.has(version)) {
        throw new LedgerConfigError(variable, `version ${version} appears twice`);
      }
      const key = STRICT_BASE64.test(keyText) ? Buffer.from(keyText, 'base64') : undefined;
      if (key?.length !== KEK_BYTES) {
        throw new LedgerConfigError(
          variable,
          `version ${version} must be standard base64 of exactly ${KEK_BYTES} bytes`,
        );
      }
      keks.set(version, key);
    });
    const newest = Math.max(...keks.keys());
    return new Keyring(keks, { version: newest, key: keks.get(newest) as Buffer });
  }

  /** Builds a keyring from keys already in memory, through the same validation as the environment. */
  static fromKeks(keks: readonly Kek[]): Keyring {
    const text = keks.map((kek) => `${kek.version}:${kek.key.toString('base64')}`).join(',');
    return Keyring.parse(text, 'keyring');
  }

  get(version: number): Buffer | undefined {
    return this.keks.get(version);
  }

  get versions(): number[] {
    return [...this.keks.keys()].sort((a, b) => a - b);
  }
}

/**
 * Reads the keyring from `DQKD_KEK` or `DQKD_KEK_FILE` (exactly one may be set).
 * Returns undefined when neither is set, so the caller decides whether that is fatal.
 */
export function keyringFromEnv(env: NodeJS.ProcessEnv): Keyring | undefined {
  const inline = env.DQKD_KEK;
  const file = env.DQKD_KEK_FILE;
  if (inline !== undefined && file !== undefined) {
    throw new LedgerConfigError('DQKD_KEK', 'set only one of DQKD_KEK and DQKD_KEK_FILE');
  }
  if (inline !== undefined) {
    return Keyring.parse(inline, 'DQKD_KEK');
  }
  return file === undefined ? undefined : keyringFromFile(file);
}

/** The keyring of a DQKD_KEK_FILE; a damaged one is told with the file too (npm start's is DQKD_HOME/kek). */
export function keyringFromFile(file: string): Keyring {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new LedgerConfigError(
      'DQKD_KEK_FILE',
      `cannot read ${file} (${(error as NodeJS.ErrnoException).code})`,
    );
  }
  return Keyring.parse(text, `DQKD_KEK_FILE (${file})`);
}
