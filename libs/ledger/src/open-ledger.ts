import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { UnreachableServiceError, withoutPassword } from '@dqkd/config';

import { ensureKekFile } from './crypto/kek-file';
import { Keyring, keyringFromEnv } from './crypto/keyring';
import { createLedgerDataSource, runMigrations } from './data-source';
import { startEmbeddedPostgres } from './embedded/embedded-postgres';
import { LedgerConfigError } from './errors';
import { Ledger } from './ledger';

export interface OpenLedgerOptions {
  /** Usually this process's KME_ID: names the embedded cluster folder, one per site. */
  readonly name: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly poolSize?: number;
}

/**
 * Opens the ledger the environment describes. With DATABASE_URL it uses that database and requires a keyring
 * (DQKD_KEK or DQKD_KEK_FILE); migrations run only with DQKD_MIGRATE=true. Without it, an embedded Postgres
 * under `$DQKD_HOME/postgres/<name>` is started, the keyring defaults to `$DQKD_HOME/kek`, and migrations always
 * run, since that cluster belongs to the ledger alone.
 */
export async function openLedger(options: OpenLedgerOptions): Promise<Ledger> {
  const env = options.env ?? process.env;
  const migrate = parseMigrate(env.DQKD_MIGRATE);
  const databaseUrl = env.DATABASE_URL;

  if (databaseUrl !== undefined && databaseUrl !== '') {
    const keyring = keyringFromEnv(env);
    if (keyring === undefined) {
      throw new LedgerConfigError(
        'DQKD_KEK',
        'DATABASE_URL names a real database, so set DQKD_KEK or DQKD_KEK_FILE to <version>:<base64 of 32 bytes>[,…]',
      );
    }
    return open(databaseUrl, keyring, migrate, options.poolSize, undefined, 'DATABASE_URL');
  }

  const home = resolve(env.DQKD_HOME ?? '.dqkd');
  const keyring =
    keyringFromEnv(env) ?? Keyring.parse(readFileSync(ensureKekFile(home), 'utf8'), 'DQKD_KEK_FILE');
  const postgres = await startEmbeddedPostgres({ dir: join(home, 'postgres'), name: options.name });
  try {
    return await open(postgres.url, keyring, true, options.poolSize, () => postgres.stop());
  } catch (error) {
    await postgres.stop();
    throw error;
  }
}

async function open(
  url: string,
  keyring: Keyring,
  migrate: boolean,
  poolSize: number | undefined,
  release?: () => Promise<void>,
  /** The variable that named `url`, for the message when it cannot be connected to. */
  variable?: string,
): Promise<Ledger> {
  const dataSource = createLedgerDataSource(url, { poolSize });
  await dataSource.initialize().catch((cause: unknown) => {
    throw variable === undefined ? cause : new UnreachableServiceError(variable, withoutPassword(url), cause);
  });
  try {
    if (migrate) {
      await runMigrations(dataSource);
    }
  } catch (error) {
    await dataSource.destroy();
    throw error;
  }
  return new Ledger(dataSource, keyring, release);
}

function parseMigrate(value: string | undefined): boolean {
  if (value === undefined || value === '' || value === 'false') {
    return false;
  }
  if (value === 'true') {
    return true;
  }
  throw new LedgerConfigError('DQKD_MIGRATE', `must be true or false, not ${JSON.stringify(value)}`);
}
