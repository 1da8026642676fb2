import { open, type FileHandle } from 'node:fs/promises';

import { filledBuffer, RandomSourceFailed, type RandomSource } from './random-source';

/**
 * A hardware RNG device such as `/dev/hwrng`, or a file of random bytes. Reads go on from where the last
 * one stopped, so a file is consumed once and never replayed; its end fails the fill.
 */
export class DeviceSource implements RandomSource {
  readonly name: string;
  private handle: Promise<FileHandle> | undefined;

  constructor(private readonly path: string) {
    this.name = `device ${path}`;
  }

  async read(bytes: number): Promise<Uint8Array> {
    const handle = await this.opened();
    return filledBuffer(bytes, async (out) => {
      for (let filled = 0; filled < bytes;) {
        let bytesRead: number;
        try {
          ({ bytesRead } = await handle.read(out, filled, bytes - filled, null));
        } catch (error) {
          throw new RandomSourceFailed(this.name, 'read failed', { cause: error });
        }
        if (bytesRead === 0) {
          throw new RandomSourceFailed(this.name, `exhausted after ${filled} of ${bytes} bytes`);
        }
        filled += bytesRead;
      }
    });
  }

  async close(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    if (handle) await (await handle.catch(() => undefined))?.close();
  }

  private opened(): Promise<FileHandle> {
    this.handle ??= open(this.path, 'r').catch((error: unknown) => {
      this.handle = undefined;
      throw new RandomSourceFailed(this.name, 'cannot open', { cause: error });
    });
    return this.handle;
  }
}
