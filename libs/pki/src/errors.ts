export type PkiErrorCode =
  'invalid-name' | 'duplicate-name' | 'invalid-sealing-identity' | 'incomplete-files' | 'foreign-certificate';

/** Every failure of this library, with a code a caller can switch on and a message an operator can act on. */
export class PkiError extends Error {
  override readonly name = 'PkiError';

  constructor(
    readonly code: PkiErrorCode,
    message: string,
  ) {
    super(message);
  }
}
