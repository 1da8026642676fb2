import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

import type { RandomSource } from './random-source';

const randomBytesAsync = promisify(randomBytes);

/** Node's CSPRNG: the default, and computationally secure only (see docs/blast.md). */
export class CsprngSource implements RandomSource {
  readonly name = 'csprng';

  async read(bytes: number): Promise<Uint8Array> {
    return new Uint8Array(await randomBytesAsync(bytes));
  }

  async close(): Promise<void> {}
}
