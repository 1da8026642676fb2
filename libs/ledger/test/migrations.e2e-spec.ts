import { createLedgerDataSource, revertLastMigration, runMigrations } from '../src/data-source';
import {
  createDatabase,
  DATABASE_MODES,
  dropDatabase,
  startTestDatabase,
  TestDatabase,
  withClient,
} from './support/test-database';

const LEDGER_TABLES = [
  'audit_events',
  'bit_ranges',
  'blocks',
  'key_slaves',
  'keys',
  'links',
  'outbox_messages',
  'processed_messages',
  'reservations',
];

const tablesOf = (url: string) =>
  withClient(url, async (client) => {
    const result = await client.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables
       WHERE table_schema = 'public' AND table_name <> 'ledger_migrations' ORDER BY table_name`,
    );
    return result.rows.map((row) => row.table_name);
  });

describe.each(DATABASE_MODES)('ledger migrations on %s', (mode) => {
  let server: TestDatabase;
  beforeAll(async () => {
    server = await startTestDatabase(mode);
  });
  afterAll(() => server.dispose());

  it('builds the whole schema on an empty database, and a second run finds nothing to do', async () => {
    const url = await createDatabase(server.adminUrl);
    const dataSource = createLedgerDataSource(url);
    await dataSource.initialize();
    try {
      expect(await tablesOf(url)).toEqual([]);
      expect(await runMigrations(dataSource)).toEqual(['InitialLedger1767225600000']);
      expect(await tablesOf(url)).toEqual(LEDGER_TABLES);
      expect(await runMigrations(dataSource)).toEqual([]);
    } finally {
      await dataSource.destroy();
      await dropDatabase(server.adminUrl, url);
    }
  });

  it('reverts to an empty schema and migrates up again', async () => {
    const url = await createDatabase(server.adminUrl);
    const dataSource = createLedgerDataSource(url);
    await dataSource.initialize();
    try {
      await runMigrations(dataSource);
      await revertLastMigration(dataSource);
      expect(await tablesOf(url)).toEqual([]);
      expect(await runMigrations(dataSource)).toHaveLength(1);
      expect(await tablesOf(url)).toEqual(LEDGER_TABLES);
    } finally {
      await dataSource.destroy();
      await dropDatabase(server.adminUrl, url);
    }
  });

  it('lets exactly one of several replicas migrating at once apply the migration', async () => {
    const url = await createDatabase(server.adminUrl);
    const replicas = Array.from({ length: 4 }, () => createLedgerDataSource(url, { poolSize: 2 }));
    await Promise.all(replicas.map((dataSource) => dataSource.initialize()));
    try {
      const applied = await Promise.all(replicas.map((dataSource) => runMigrations(dataSource)));
      expect(applied.flat()).toEqual(['InitialLedger1767225600000']);
      expect(await tablesOf(url)).toEqual(LEDGER_TABLES);
    } finally {
      await Promise.all(replicas.map((dataSource) => dataSource.destroy()));
      await dropDatabase(server.adminUrl, url);
    }
  });

  it('keeps the audit trail append-only even for raw SQL', async () => {
    const url = await createDatabase(server.adminUrl);
    const dataSource = createLedgerDataSource(url);
    await dataSource.initialize();
    try {
      await runMigrations(dataSource);
      await dataSource.query(`INSERT INTO audit_events (event, bits) VALUES ('block-burned', 8)`);
      await expect(dataSource.query(`UPDATE audit_events SET bits = 16`)).rejects.toThrow(/append-only/);
      await expect(dataSource.query(`DELETE FROM audit_events`)).rejects.toThrow(/append-only/);
      await expect(dataSource.query(`TRUNCATE audit_events`)).rejects.toThrow(/append-only/);
      expect(await dataSource.query(`SELECT bits FROM audit_events`)).toEqual([{ bits: '8' }]);
    } finally {
      await dataSource.destroy();
      await dropDatabase(server.adminUrl, url);
    }
  });
});
