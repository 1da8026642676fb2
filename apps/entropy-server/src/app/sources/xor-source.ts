import type { RandomSource } from './random-source';

/** XOR of two independent sources: as unpredictable as the better of the two. */
export class XorSource implements RandomSource {
  readonly name: string;

  constructor(
    private readonly first: RandomSource,
    private readonly second: RandomSource,
  ) {
    this.name = `xor(${first.name}, ${second.name})`;
  }

  async read(bytes: number): Promise<Uint8Array> {
    const [a, b] = await Promise.allSettled([this.first.read(bytes), this.second.read(bytes)]);
    if (a.status === 'rejected' || b.status === 'rejected') {
      if (a.status === 'fulfilled') a.value.fill(0);
      if (b.status === 'fulfilled') b.value.fill(0);
      throw a.status === 'rejected' ? a.reason : (b as PromiseRejectedResult).reason;
    }
    const out = a.value;
    for (let i = 0; i < out.length; i++) out[i] ^= b.value[i];
    b.value.fill(0);
    return out;
  }

  async close(): Promise<void> {
    await Promise.all([this.first.close(), this.second.close()]);
  }
}
