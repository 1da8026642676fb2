import { randomUUID } from 'node:crypto';

import type { DataSource } from 'typeorm';

import {
  createLedgerDataSource,
  pendingMigrations,
  revertLastMigration,
  runMigrations,
} from '../src/data-source';
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
  'bus_streams',
  'key_groups',
  'key_slaves',
  'keys',
  'links',
  'outbox_messages',
  'processed_messages',
  'reservations',
];

const MIGRATIONS = [
  'InitialLedger1767225600000',
  'KeyGroups1767312000000',
  'InboxPerSender1767398400000',
  'KeyGroupBitsZeroed1767484800000',
  'BusStreams1767571200000',
  'AuditRetention1767657600000',
  'DeliveryClaims1767744000000',
];

/** Reverts the newest migrations until `name` is the last one applied. */
async function revertTo(dataSource: DataSource, name: string): Promise<void> {
  expect(MIGRATIONS).toContain(name);
  const last = async () =>
    (
      (await dataSource.query('SELECT name FROM ledger_migrations ORDER BY id DESC LIMIT 1')) as {
        name: string;
      }[]
    )[0]?.name;
  for (let reverted = 0; (await last()) !== name; reverted += 1) {
    expect(reverted).toBeLessThan(MIGRATIONS.length);
    await revertLastMigration(dataSource);
  }
}

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

  /** Runs `test` on a fresh database with a ledger data source (no migration run yet), then drops both. */
  const withLedgerDatabase = async (test: (dataSource: DataSource, url: string) => Promise<void>) => {
    const url = await createDatabase(server.adminUrl);
    const dataSource = createLedgerDataSource(url);
    await dataSource.initialize();
    try {
      await test(dataSource, url);
    } finally {
      await dataSource.destroy();
      await dropDatabase(server.adminUrl, url);
    }
  };

  it('builds the whole schema on an empty database, and a second run finds nothing to do', () =>
    withLedgerDatabase(async (dataSource, url) => {
      expect(await tablesOf(url)).toEqual([]);
      expect(await runMigrations(dataSource)).toEqual(MIGRATIONS);
      expect(await tablesOf(url)).toEqual(LEDGER_TABLES);
      expect(await runMigrations(dataSource)).toEqual([]);
    }));

  it('reverts to an empty schema, one migration at a time, and migrates up again', () =>
    withLedgerDatabase(async (dataSource, url) => {
      await runMigrations(dataSource);
      await revertTo(dataSource, 'KeyGroupBitsZeroed1767484800000');
      const beforeBusStreams = LEDGER_TABLES.filter((table) => table !== 'bus_streams');
      expect(await tablesOf(url)).toEqual(beforeBusStreams);
      await revertTo(dataSource, 'KeyGroups1767312000000');
      expect(await tablesOf(url)).toEqual(beforeBusStreams);
      await revertLastMigration(dataSource);
      expect(await tablesOf(url)).toEqual(beforeBusStreams.filter((table) => table !== 'key_groups'));
      await revertLastMigration(dataSource);
      expect(await tablesOf(url)).toEqual([]);
      expect(await runMigrations(dataSource)).toEqual(MIGRATIONS);
      expect(await tablesOf(url)).toEqual(LEDGER_TABLES);
    }));

  it('tells which migrations a database has not had, without changing it', () =>
    withLedgerDatabase(async (dataSource, url) => {
      expect(await pendingMigrations(dataSource)).toEqual(MIGRATIONS);
      // Not even the migrations table: a role that may only read and write rows can ask too.
      expect(await dataSource.query(`SELECT to_regclass('ledger_migrations') AS t`)).toEqual([{ t: null }]);
      expect(await tablesOf(url)).toEqual([]);
      await runMigrations(dataSource);
      expect(await pendingMigrations(dataSource)).toEqual([]);
      await revertTo(dataSource, 'InboxPerSender1767398400000');
      expect(await pendingMigrations(dataSource)).toEqual(MIGRATIONS.slice(-4));
    }));

  it('lets exactly one of several replicas migrating at once apply the migrations', async () => {
    const url = await createDatabase(server.adminUrl);
    const replicas = Array.from({ length: 4 }, () => createLedgerDataSource(url, { poolSize: 2 }));
    await Promise.all(replicas.map((dataSource) => dataSource.initialize()));
    try {
      const applied = await Promise.all(replicas.map((dataSource) => runMigrations(dataSource)));
      expect(applied.flat()).toEqual(MIGRATIONS);
      expect(await tablesOf(url)).toEqual(LEDGER_TABLES);
    } finally {
      await Promise.all(replicas.map((dataSource) => dataSource.destroy()));
      await dropDatabase(server.adminUrl, url);
    }
  });

  it('keys the inbox by subject and message ID, and back keeping the newest record of each ID', () =>
    withLedgerDatabase(async (dataSource) => {
      await runMigrations(dataSource);
      await revertTo(dataSource, 'KeyGroups1767312000000');
      const record = (subject: string, age: string) =>
        dataSource.query(
          `INSERT INTO processed_messages (message_id, subject, processed_at)
           VALUES ('metadata:1', $1, now() - $2::interval)`,
          [subject, age],
        );
      await record('dqkd.kme-east.out.kme-west.metadata', '2 minutes');
      await expect(record('dqkd.kme-north.out.kme-west.metadata', '1 minute')).rejects.toThrow(
        /processed_messages_pkey/,
      );

      expect(await runMigrations(dataSource)).toEqual(MIGRATIONS.slice(2));
      await record('dqkd.kme-north.out.kme-west.metadata', '1 minute');
      await expect(record('dqkd.kme-north.out.kme-west.metadata', '0 minutes')).rejects.toThrow(
        /processed_messages_pkey/,
      );

      // The newest record stays, although its subject sorts last.
      await revertTo(dataSource, 'KeyGroups1767312000000');
      expect(await dataSource.query(`SELECT message_id, subject FROM processed_messages`)).toEqual([
        { message_id: 'metadata:1', subject: 'dqkd.kme-north.out.kme-west.metadata' },
      ]);
    }));

  it('turns each key recorded before key groups into a group of one, and back', () =>
    withLedgerDatabase(async (dataSource) => {
      await runMigrations(dataSource);
      await revertTo(dataSource, 'InitialLedger1767225600000');
      const [link] = await dataSource.query(
        `INSERT INTO links (source_kme_id, target_kme_id, block_bits) VALUES ('kme-east', 'kme-west', 1024)
       RETURNING id`,
      );
      const reservation = randomUUID();
      await dataSource.query(`INSERT INTO reservations (id, link_id, bits) VALUES ($1, $2, 256)`, [
        reservation,
        link.id,
      ]);
      const keys = [randomUUID(), randomUUID()];
      for (const [index, keyId] of keys.entries()) {
        await dataSource.query(
          `INSERT INTO keys (key_id, link_id, master_sae_id, size, reservation_id, reservation_bits,
           reservation_offset, expires_at) VALUES ($1, $2, 'sae-alice', 64, $3, 256, $4, now())`,
          [keyId, link.id, reservation, index * 64],
        );
      }

      expect(await runMigrations(dataSource)).toEqual(MIGRATIONS.slice(1));
      const groups = await dataSource.query(
        `SELECT g.id, g.first_offset, g.key_size, g.key_count, k.group_ordinal
       FROM key_groups g JOIN keys k ON k.group_id = g.id ORDER BY g.first_offset`,
      );
      expect(groups).toEqual([
        { id: keys[0], first_offset: 0, key_size: 64, key_count: 1, group_ordinal: 0 },
        { id: keys[1], first_offset: 64, key_size: 64, key_count: 1, group_ordinal: 0 },
      ]);
      // The migrated keys hold their bits as firmly as before: a group over them is refused.
      await expect(
        dataSource.query(
          `INSERT INTO key_groups (id, reservation_id, reservation_bits, first_offset, key_size, key_count)
         VALUES ($1, $2, 256, 96, 64, 1)`,
          [randomUUID(), reservation],
        ),
      ).rejects.toThrow(/key_groups_disjoint/);

      await revertTo(dataSource, 'InitialLedger1767225600000');
      expect(await dataSource.query(`SELECT key_id FROM keys ORDER BY reservation_offset`)).toEqual(
        keys.map((key_id) => ({ key_id })),
      );
      await expect(
        dataSource.query(
          `INSERT INTO keys (key_id, link_id, master_sae_id, size, reservation_id, reservation_bits,
           reservation_offset, expires_at) VALUES ($1, $2, 'sae-alice', 64, $3, 256, 96, now())`,
          [randomUUID(), link.id, reservation],
        ),
      ).rejects.toThrow(/keys_disjoint/);
    }));

  it('leaves every group recorded before to the next scrub, and back', () =>
    withLedgerDatabase(async (dataSource) => {
      await runMigrations(dataSource);
      await revertTo(dataSource, 'InboxPerSender1767398400000');
      const [link] = await dataSource.query(
        `INSERT INTO links (source_kme_id, target_kme_id, block_bits) VALUES ('kme-east', 'kme-west', 1024)
         RETURNING id`,
      );
      const [reservationId, groupId] = [randomUUID(), randomUUID()];
      await dataSource.query(`INSERT INTO reservations (id, link_id, bits) VALUES ($1, $2, 64)`, [
        reservationId,
        link.id,
      ]);
      await dataSource.query(
        `INSERT INTO key_groups (id, reservation_id, reservation_bits, first_offset, key_size, key_count)
         VALUES ($1, $2, 64, 0, 64, 1)`,
        [groupId, reservationId],
      );

      expect(await runMigrations(dataSource)).toEqual(
        MIGRATIONS.slice(MIGRATIONS.indexOf('KeyGroupBitsZeroed1767484800000')),
      );
      expect(await dataSource.query(`SELECT id, block_bits_zeroed FROM key_groups`)).toEqual([
        { id: groupId, block_bits_zeroed: false },
      ]);

      await revertLastMigration(dataSource);
      expect(await dataSource.query(`SELECT id FROM key_groups`)).toEqual([{ id: groupId }]);
    }));

  it('keeps the audit trail append-only even for raw SQL, but for events older than a week', () =>
    withLedgerDatabase(async (dataSource) => {
      await runMigrations(dataSource);
      await dataSource.query(`INSERT INTO audit_events (event, bits) VALUES ('block-burned', 8)`);
      await dataSource.query(
        `INSERT INTO audit_events (event, bits, occurred_at) VALUES ('block-burned', 64, now() - interval '8 days')`,
      );
      await expect(dataSource.query(`UPDATE audit_events SET bits = 16`)).rejects.toThrow(/append-only/);
      await expect(dataSource.query(`DELETE FROM audit_events`)).rejects.toThrow(
        /append-only: only events older than 7 days may be deleted/,
      );
      await expect(dataSource.query(`TRUNCATE audit_events`)).rejects.toThrow(/append-only/);
      const bits = async () =>
        ((await dataSource.query(`SELECT bits FROM audit_events ORDER BY bits`)) as { bits: string }[]).map(
          (row) => row.bits,
        );
      expect(await bits()).toEqual(['8', '64']);

      // Before AuditRetention no event could be deleted.
      await revertTo(dataSource, 'BusStreams1767571200000');
      await expect(dataSource.query(`DELETE FROM audit_events WHERE bits = 64`)).rejects.toThrow(
        /append-only/,
      );
      await runMigrations(dataSource);
      await dataSource.query(`DELETE FROM audit_events WHERE bits = 64`);
      await expect(dataSource.query(`UPDATE audit_events SET bits = 16`)).rejects.toThrow(/append-only/);
      expect(await bits()).toEqual(['8']);
    }));
});
