import { mkdir, readFile, writeFile } from 'node:fs/promises';

export const SECRET_FILE_MODE = 0o600;
export const PUBLIC_FILE_MODE = 0o644;
const PKI_DIR_MODE = 0o700;

/** The folder holds private keys, so a new one is readable by its owner only; an existing one is left as is. */
export async function ensureDirectory(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: PKI_DIR_MODE });
}

export async function readIfExists(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return undefined;
    }
    throw error;
  }
}

// 'wx' fails if the file appeared meanwhile, so even a concurrent run can never overwrite a key.
export async function writeNewFile(path: string, data: string | Uint8Array, mode: number): Promise<void> {
  await writeFile(path, data, { flag: 'wx', mode });
}
