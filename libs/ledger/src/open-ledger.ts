import { join, resolve } from 'node:path';

import { ConfigError, ENVIRONMENT, UnreachableServiceError, withoutPassword } from '@dqkd/config';
import type { DataSource } from 'typeorm';

import { ensureKekFile } from './crypto/kek-file';
import { keyringFromEnv, keyringFromFile, type Keyring } from './crypto/keyring';
import { createLedgerDataSource, pendingMigrations, runMigrations } from './data-source';
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
    return open(databaseUrl, keyring, { migrate, poolSize: options.poolSize, variable: 'DATABASE_URL' });
  }

  const home = resolve(env.DQKD_HOME ?? '.dqkd');
  const keyring = keyringFromEnv(env) ?? keyringFromFile(ensureKekFile(home));
  const postgres = await startEmbeddedPostgres({ dir: join(home, 'postgres'), name: options.name });
  try {
    return await open(postgres.url, keyring, {
      migrate: true,
      poolSize: options.poolSize,
      release: () => postgres.stop(),
    });
  } catch (error) {
    await postgres.stop();
    throw error;
  }
}

/**
 * Why a database cannot be used at all, the operator's to mend: the network's error codes, and Postgres' for
 * a refused login, a database that does not exist or a server not accepting connections yet. Anything else
 * (a bug in the entities, say) keeps its own error and stack.
 */
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  '28000',
  '28P01',
  '3D000',
  '57P03',
]);

interface OpenOptions {
  readonly migrate: boolean;
  readonly poolSize: number | undefined;
  /** Stops what serves `url` once the ledger is closed (the embedded Postgres). */
  readonly release?: () => Promise<void>;
  /** The variable that named `url`, for the message when it cannot be connected to. */
  readonly variable?: string;
}

async function open(
  url: string,
  keyring: Keyring,
  { migrate, poolSize, release, variable }: OpenOptions,
): Promise<Ledger> {
  const dataSource = createLedgerDataSource(url, { poolSize });
  await dataSource.initialize().catch((cause: unknown) => {
    const unreachable = variable !== undefined && UNREACHABLE.has((cause as { code?: string }).code ?? '');
    throw unreachable ? new UnreachableServiceError(variable, withoutPassword(url), cause) : cause;
  });
  try {
    if (migrate) {
      await runMigrations(dataSource);
    } else {
      await refuseUnmigrated(dataSource, url);
    }
  } catch (error) {
    await dataSource.destroy();
    throw error;
  }
  return new Ledger(dataSource, keyring, release);
}

/**
 * Without DQKD_MIGRATE=true the schema is the operator's to bring up to date; a version started on an older one
 * would fail on its first query of what it lacks (a table, a column), deep in some request. Refused at start-up
 * instead, in one line.
 */
async function refuseUnmigrated(dataSource: DataSource, url: string): Promise<void> {
  const pending = await pendingMigrations(dataSource);
  if (pending.length === 0) return;
  throw new ConfigError([
    {
      source: ENVIRONMENT,
      path: 'DQKD_MIGRATE',
      message:
        `is not true, and the ledger at ${withoutPassword(url)} lacks ${pending.length} of this version's ` +
        `migrations (the newest: ${pending.at(-1)}): run \`DATABASE_URL=… npm run migrate\` of this version ` +
        'first, or start with DQKD_MIGRATE=true',
    },
  ]);
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
