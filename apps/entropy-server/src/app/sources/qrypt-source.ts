import { decodeBase64Strict, getJson } from './http-fetch';
import { filledBuffer, RandomSourceFailed, type RandomSource } from './random-source';

/** Qrypt-style services hand out entropy in KiB blocks and cap one request. */
const BLOCK_BYTES = 1024;
const MAX_BLOCKS_PER_REQUEST = 512;

/**
 * An HTTP QRNG in the style of Qrypt's Entropy-as-a-Service: `GET <base>/api/v1/quantum-entropy?size=<KiB>`
 * with `Authorization: Bearer <token>`, answered by `{"random": ["<base64 of 1 KiB>", …]}`.
 */
export class QryptSource implements RandomSource {
  readonly name = 'qrypt';

  constructor(
    private readonly baseUrl: string,
    private readonly token: string,
  ) {}

  read(bytes: number): Promise<Uint8Array> {
    return filledBuffer(bytes, async (out) => {
      for (let filled = 0; filled < bytes;) {
        const blocks = Math.min(MAX_BLOCKS_PER_REQUEST, Math.ceil((bytes - filled) / BLOCK_BYTES));
        const chunk = await this.fetchBlocks(blocks);
        const take = Math.min(chunk.length, bytes - filled);
        out.set(chunk.subarray(0, take), filled);
        chunk.fill(0);
        filled += take;
      }
    });
  }

  async close(): Promise<void> {}

  private async fetchBlocks(blocks: number): Promise<Uint8Array> {
    const url = new URL(`${this.baseUrl.replace(/\/$/, '')}/api/v1/quantum-entropy`);
    url.searchParams.set('size', String(blocks));
    const body = await getJson(this.name, url, {
      authorization: `Bearer ${this.token}`,
      accept: 'application/json',
    });
    const random = (body as { random?: unknown } | null)?.random;
    if (!Array.isArray(random) || random.length !== blocks) {
      throw new RandomSourceFailed(this.name, `expected ${blocks} blocks in "random"`);
    }
    const decoded = random.map(decodeBase64Strict);
    if (decoded.some((block) => block === undefined || block.length !== BLOCK_BYTES)) {
      throw new RandomSourceFailed(this.name, `every block must be base64 of ${BLOCK_BYTES} bytes`);
    }
    const chunk = new Uint8Array(blocks * BLOCK_BYTES);
    (decoded as Uint8Array[]).forEach((block, i) => {
      chunk.set(block, i * BLOCK_BYTES);
      block.fill(0);
    });
    return chunk;
  }
}
