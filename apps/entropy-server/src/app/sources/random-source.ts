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

/**
 * A buffer of `bytes` that `fill` writes. When `fill` fails, what it wrote is zeroed before the error goes on:
 * those bytes never become a sample, and nothing should hold them.
 */
export async function filledBuffer(
  bytes: number,
  fill: (out: Uint8Array) => Promise<void>,
): Promise<Uint8Array> {
  const out = new Uint8Array(bytes);
  try {
    await fill(out);
    return out;
  } catch (error) {
    out.fill(0);
    throw error;
  }
}
