/** Where an entropy server's pools get their bytes. Every call returns fresh bytes, never the same twice. */
export interface RandomSource {
  /** For logs and errors; never holds a token. */
  readonly name: string;
  read(bytes: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

/** The source could not deliver: unreachable, refused, malformed or exhausted. The pool is not filled. */
export class RandomSourceFailed extends Error {
  override readonly name = 'RandomSourceFailed';

  constructor(
    readonly source: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`random source ${source}: ${message}`, options);
  }
}
