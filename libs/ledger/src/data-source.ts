import { DataSource } from 'typeorm';

import { LEDGER_ENTITIES } from './entities';
import { LEDGER_MIGRATIONS } from './migrations';

export interface LedgerDataSourceOptions {
  /** Connections in the pool; concurrent claims each hold one for the length of a short transaction. */
  readonly poolSize?: number;
  readonly applicationName?: string;
}

const MIGRATION_LOCK = 'dqkd-ledger-migrations';
const MIGRATION_LOCK_WAIT = '60s';

/** A DataSource for the ledger schema. The schema comes only from reviewed migrations, never from synchronize. */
export function createLedgerDataSource(url: string, options: LedgerDataSourceOptions = {}): DataSource {
  return new DataSource({
    type: 'postgres',
    url,
    applicationName: options.applicationName ?? 'dqkd-ledger',
    synchronize: false,
    migrationsRun: false,
    entities: LEDGER_ENTITIES,
    migrations: LEDGER_MIGRATIONS,
    migrationsTableName: 'ledger_migrations',
    poolSize: options.poolSize ?? 10,
    logging: false,
  });
}

/**
 * Applies pending migrations in one transaction and returns their names. Replicas started together with
 * DQKD_MIGRATE=true queue on an advisory lock, so exactly one of them migrates and the others find nothing to do.
 */
export async function runMigrations(dataSource: DataSource): Promise<string[]> {
  return withMigrationLock(dataSource, async () => {
    const applied = await dataSource.runMigrations({ transaction: 'all' });
    return applied.map((migration) => migration.name);
  });
}

/**
 * The names of this version's migrations that the database has not had, oldest first; all of them when it has
 * had none. Reads only (SELECT on ledger_migrations), so it suits a role that may not change the schema.
 */
export async function pendingMigrations(dataSource: DataSource): Promise<string[]> {
  const names = dataSource.migrations.map((migration) => migration.name ?? migration.constructor.name);
  const applied = await dataSource
    .query<{ name: string }[]>('SELECT name FROM ledger_migrations')
    .catch((error: { driverError?: { code?: string } }) => {
      // undefined_table: nothing was ever migrated here.
      if (error.driverError?.code === '42P01') return [];
      throw error;
    });
  const done = new Set(applied.map((row) => row.name));
  return names.filter((name) => !done.has(name));
}

/** Reverts the most recent migration; for operators rolling back a release. */
export async function revertLastMigration(dataSource: DataSource): Promise<void> {
  await withMigrationLock(dataSource, () => dataSource.undoLastMigration({ transaction: 'all' }));
}

async function withMigrationLock<T>(dataSource: DataSource, work: () => Promise<T>): Promise<T> {
  const runner = dataSource.createQueryRunner();
  try {
    await runner.query(`SET lock_timeout = '${MIGRATION_LOCK_WAIT}'`);
    await runner.query(`SELECT pg_advisory_lock(hashtext($1))`, [MIGRATION_LOCK]);
    try {
      return await work();
    } finally {
      await runner.query(`SELECT pg_advisory_unlock(hashtext($1))`, [MIGRATION_LOCK]);
    }
  } finally {
    await runner.release();
  }
}
