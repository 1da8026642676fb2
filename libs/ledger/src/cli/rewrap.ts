import * as path from 'node:path';

import { keyringFromEnv } from '../crypto/keyring';
import { createLedgerDataSource } from '../data-source';
import { Ledger } from '../ledger';
import { runCli } from './run-cli';

/**
 * `npm run rewrap`: moves every data key of the ledger at DATABASE_URL onto the newest KEK version of the
 * keyring in DQKD_KEK or DQKD_KEK_FILE (step 3 of rotating the KEK, docs/operations.md). Exits 1 while rows
 * remain under an older version or do not authenticate: then no version may leave the keyring yet.
 */
async function main(): Promise<number> {
  const url = process.env.DATABASE_URL;
  if (url === undefined || url === '') {
    process.stderr.write('DATABASE_URL: set it to the postgres://… URL of the ledger to rewrap\n');
    return 2;
  }
  // Under `npm run`, the working directory is libs/ledger; INIT_CWD is where the operator typed.
  const file = process.env.DQKD_KEK_FILE;
  const cwd = process.env.INIT_CWD || process.cwd();
  const keyring = keyringFromEnv({
    ...process.env,
    ...(file === undefined ? {} : { DQKD_KEK_FILE: path.resolve(cwd, file) }),
  });
  if (keyring === undefined) {
    process.stderr.write(
      'DQKD_KEK or DQKD_KEK_FILE: set it to the keyring with the new version and the old ones\n',
    );
    return 2;
  }
  const dataSource = createLedgerDataSource(url, { poolSize: 2, applicationName: 'dqkd-ledger-rewrap' });
  await dataSource.initialize();
  const ledger = new Ledger(dataSource, keyring);
  try {
    const counts = await ledger.rewrap();
    process.stdout.write(`${JSON.stringify({ version: keyring.current.version, ...counts })}\n`);
    if (counts.unreadable.length > 0) {
      process.stderr.write(
        `${counts.unreadable.length} rows do not open: wrapped under a KEK version missing from this keyring, or tampered; look at them before removing any version\n`,
      );
    }
    if (counts.remaining > 0) {
      process.stderr.write(
        `${counts.remaining} rows are still under an older version (held locked by the site's work, or written by a process without version ${keyring.current.version}): run it again\n`,
      );
    }
    return counts.unreadable.length > 0 || counts.remaining > 0 ? 1 : 0;
  } finally {
    await ledger.close();
  }
}

runCli('rewrap', main);
