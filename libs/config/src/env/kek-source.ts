import { readFileSync } from 'node:fs';

/**
 * Where the key-encryption keyring comes from. The keyring itself is kept in a private field so that
 * logging or serialising the configuration never prints it; the ledger parses what `read()` returns.
 */
export class KekSource {
  readonly #keyring: string | undefined;

  private constructor(
    readonly variable: 'DQKD_KEK' | 'DQKD_KEK_FILE',
    readonly file: string | undefined,
    keyring: string | undefined,
  ) {
    this.#keyring = keyring;
  }

  static inline(keyring: string): KekSource {
    return new KekSource('DQKD_KEK', undefined, keyring);
  }

  static fromFile(file: string): KekSource {
    return new KekSource('DQKD_KEK_FILE', file, undefined);
  }

  /** The keyring string, read from its file at each call (the ledger reads it once, when it opens). */
  read(): string {
    return this.file === undefined ? (this.#keyring as string) : readFileSync(this.file, 'utf8').trim();
  }

  toJSON(): { variable: string; file?: string } {
    return this.file === undefined
      ? { variable: this.variable }
      : { variable: this.variable, file: this.file };
  }
}
