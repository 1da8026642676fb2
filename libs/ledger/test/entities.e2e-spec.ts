import { randomUUID } from 'node:crypto';

import { DataSource } from 'typeorm';

import { createLedgerDataSource } from '../src/data-source';
import { BlockEntity, KeyEntity, LEDGER_ENTITIES } from '../src/entities';
import { createDatabase, DATABASE_MODES, dropDatabase, withClient } from './support/test-database';
import { inAnHour, newLink, readyBlocks, useTestLedger } from './support/test-ledger';

/** What Postgres itself reports about the ledger tables, in its own normalised spelling. */
const catalogOf = (url: string) =>
  withClient(url, async (client) => {
    const query = async (sql: string) => (await client.query(sql)).rows;
    return {
      columns: await query(
        `SELECT table_name, column_name, data_type, udt_name, is_nullable, column_default, identity_generation
         FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> 'ledger_migrations'
         ORDER BY table_name, column_name`,
      ),
      constraints: await query(
        `SELECT c.conrelid::regclass::text AS table_name, c.conname, pg_get_constraintdef(c.oid) AS definition
         FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
         WHERE n.nspname = 'public' AND c.conrelid::regclass::text <> 'ledger_migrations' ORDER BY 1, 2`,
      ),
      indexes: await query(
        `SELECT tablename, indexname, indexdef FROM pg_indexes
         WHERE schemaname = 'public' AND tablename <> 'ledger_migrations' ORDER BY 1, 2`,
      ),
      triggers: await query(
        `SELECT tgrelid::regclass::text AS table_name, tgname FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1, 2`,
      ),
    };
  });

describe.each(DATABASE_MODES)('ledger entities on %s', (mode) => {
  const context = useTestLedger(mode);

  it('need no schema change after the migrations ran', async () => {
    const pending = await context().ledger.dataSource.driver.createSchemaBuilder().log();
    expect(pending.upQueries.map((query) => query.query)).toEqual([]);
  });

  it('describe exactly the schema the migrations build, apart from the append-only triggers', async () => {
    const { adminUrl, url } = context().database;
    const fromEntities = await createDatabase(adminUrl);
    const dataSource: DataSource = createLedgerDataSource(fromEntities, { poolSize: 2 });
    await dataSource.initialize();
    try {
      // The exclusion constraints need btree_gist, which the migration installs before any table.
      await dataSource.query(`CREATE EXTENSION IF NOT EXISTS btree_gist`);
      await dataSource.synchronize();
      const migrated = await catalogOf(url);
      // Triggers (and their function) are the one part of the schema TypeORM has no decorator for; the
      // schema builder ignores them, so they live in the migration alone.
      expect(migrated).toEqual({
        ...(await catalogOf(fromEntities)),
        triggers: [
          { table_name: 'audit_events', tgname: 'audit_events_append_only' },
          { table_name: 'audit_events', tgname: 'audit_events_no_truncate' },
        ],
      });
      expect(migrated.constraints.length).toBeGreaterThan(30);
    } finally {
      await dataSource.destroy();
      await dropDatabase(adminUrl, fromEntities);
    }
  });

  it('map every table of the ledger', () => {
    const tables = context().ledger.dataSource.entityMetadatas.map((metadata) => metadata.tableName);
    expect(tables.sort()).toEqual([
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
    ]);
    expect(LEDGER_ENTITIES).toHaveLength(tables.length);
  });

  it('never load material through a plain find', async () => {
    const { ledger } = context();
    const link = await newLink(ledger, 256);
    const [block] = await readyBlocks(ledger, link, 1);
    const reserved = await ledger.reservations.reserve(link.id, 128);
    if (!reserved.ok) {
      throw new Error('reservation failed');
    }
    const keyId = randomUUID();
    await ledger.keys.record([
      {
        keyId,
        linkId: link.id,
        masterSaeId: 'sae-alice',
        size: 128,
        reservationId: reserved.reservation.id,
        offset: 0,
        expiresAt: inAnHour(),
        slaves: [{ kind: 'sae', id: 'sae-bob' }],
        material: Buffer.alloc(16, 7),
      },
    ]);

    const blockEntity = await ledger.manager.findOneByOrFail(BlockEntity, { id: block.id });
    expect(blockEntity).toMatchObject({ id: block.id, state: 'ready', materialKekId: 1 });
    expect(blockEntity).not.toHaveProperty('materialCiphertext', expect.anything());
    expect(blockEntity).not.toHaveProperty('materialWrappedKey', expect.anything());

    const keyEntity = await ledger.manager.findOneOrFail(KeyEntity, {
      where: { keyId },
      relations: { slaves: true, group: true, link: true },
    });
    expect(keyEntity).toMatchObject({
      keyId,
      size: 128,
      materialKekId: 1,
      link: { id: link.id },
      group: { keySize: 128, keyCount: 1 },
    });
    expect(keyEntity.slaves).toEqual([expect.objectContaining({ slaveId: 'sae-bob', deliveredAt: null })]);
    expect(keyEntity).not.toHaveProperty('materialCiphertext', expect.anything());
    expect(keyEntity).not.toHaveProperty('materialWrappedKey', expect.anything());
    expect(JSON.stringify([blockEntity, keyEntity])).not.toMatch(/materialCiphertext|materialWrappedKey/);
  });
});
