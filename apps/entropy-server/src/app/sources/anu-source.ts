import { getJson } from './http-fetch';
import { filledBuffer, RandomSourceFailed, type RandomSource } from './random-source';

/** The ANU QRNG API caps one request at 1024 numbers. */
const MAX_LENGTH = 1024;

/**
 * The ANU QRNG API: `GET <base>?length=<n>&type=uint8` with header `x-api-key`, answered by
 * `{"success": true, "type": "uint8", "length": n, "data": [0..255, …]}`.
 */
export class AnuSource implements RandomSource {
  readonly name = 'anu';

  constructor(
    private readonly baseUrl: string,
    private readonly apiKey: string,
  ) {}

  read(bytes: number): Promise<Uint8Array> {
    return filledBuffer(bytes, async (out) => {
      for (let filled = 0; filled < bytes;) {
        const length = Math.min(MAX_LENGTH, bytes - filled);
        const chunk = await this.fetchBytes(length);
        out.set(chunk, filled);
        chunk.fill(0);
        filled += length;
      }
    });
  }

  async close(): Promise<void> {}

  private async fetchBytes(length: number): Promise<Uint8Array> {
    const url = new URL(this.baseUrl);
    url.searchParams.set('length', String(length));
    url.searchParams.set('type', 'uint8');
    const body = (await getJson(this.name, url, {
      'x-api-key': this.apiKey,
      accept: 'application/json',
    })) as {
      success?: unknown;
      data?: unknown;
    } | null;
    if (body?.success !== true) throw new RandomSourceFailed(this.name, 'the service reported no success');
    const data = body.data;
    if (
      !Array.isArray(data) ||
      data.length !== length ||
      !data.every((value) => Number.isInteger(value) && value >= 0 && value <= 255)
    ) {
      throw new RandomSourceFailed(this.name, `expected ${length} numbers from 0 to 255 in "data"`);
    }
    return Uint8Array.from(data as number[]);
  }
}
