import { createLedgerDataSource, runMigrations } from '../data-source';
import { runCli } from './run-cli';

/** `npm run migrate -w @dqkd/ledger`: applies pending ledger migrations to DATABASE_URL. */
async function main(): Promise<number> {
  const url = process.env.DATABASE_URL;
  if (url === undefined || url === '') {
    process.stderr.write('DATABASE_URL: set it to the postgres://… URL of the ledger to migrate\n');
    return 2;
  }
  const dataSource = createLedgerDataSource(url, { poolSize: 2, applicationName: 'dqkd-ledger-migrate' });
  await dataSource.initialize();
  try {
    const applied = await runMigrations(dataSource);
    process.stdout.write(
      applied.length === 0 ? 'ledger schema is up to date\n' : `applied: ${applied.join(', ')}\n`,
    );
    return 0;
  } finally {
    await dataSource.destroy();
  }
}

runCli('ledger migration', main);
