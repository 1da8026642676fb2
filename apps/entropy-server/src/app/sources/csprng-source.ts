import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

import type { RandomSource } from './random-source';

const randomBytesAsync = promisify(randomBytes);

/** Node's CSPRNG: the default, and computationally secure only (see docs/blast.md). */
export class CsprngSource implements RandomSource {
  readonly name = 'csprng';

  async read(bytes: number): Promise<Uint8Array> {
    const random = await randomBytesAsync(bytes);
    // A plain view of the same memory, not a copy (which would leave these bytes behind unzeroed when the pool
    // is shredded); and not the Buffer itself, whose slice() shares memory where the pool's copies must not.
    return new Uint8Array(random.buffer, random.byteOffset, random.length);
  }

  async close(): Promise<void> {}
}
