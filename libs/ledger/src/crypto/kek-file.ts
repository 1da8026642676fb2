import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { KEK_BYTES } from './keyring';

/**
 * The embedded default's KEK: `$DQKD_HOME/kek`, created once (mode 0600) and reused on every later start.
 * Created with O_EXCL so two processes starting together cannot each write a different key. Returns its path,
 * which holds the same format as DQKD_KEK_FILE.
 */
export function ensureKekFile(home: string): string {
  const file = join(home, 'kek');
  mkdirSync(home, { recursive: true });
  try {
    writeFileSync(file, `1:${randomBytes(KEK_BYTES).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw error;
    }
  }
  return file;
}
