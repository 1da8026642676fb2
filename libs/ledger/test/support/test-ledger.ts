import { randomBytes, randomUUID } from 'node:crypto';

import { Keyring } from '../../src/crypto/keyring';
import { createLedgerDataSource, runMigrations } from '../../src/data-source';
import { Ledger } from '../../src/ledger';
import { Link } from '../../src/store/types';
import { DatabaseMode, startTestDatabase, TestDatabase } from './test-database';

export interface TestLedger {
  readonly database: TestDatabase;
  readonly keyring: Keyring;
  readonly ledger: Ledger;
  /** Another ledger on its own pool: a separate process, as far as the database can tell. */
  connect(keyring?: Keyring): Promise<Ledger>;
}

export const randomKeyring = (...versions: number[]): Keyring =>
  Keyring.fromKeks(
    (versions.length === 0 ? [1] : versions).map((version) => ({ version, key: randomBytes(32) })),
  );

/**
 * Registers beforeAll/afterAll hooks that give this describe block a migrated ledger in a database of its own,
 * dropped (or an embedded cluster stopped and deleted) afterwards, with every extra connection closed.
 */
export function useTestLedger(mode: DatabaseMode): () => TestLedger {
  let current: TestLedger | undefined;
  const opened: Ledger[] = [];
  beforeAll(async () => {
    const database = await startTestDatabase(mode);
    const keyring = randomKeyring(1);
    const connect = async (other = keyring) => {
      const dataSource = createLedgerDataSource(database.url, { poolSize: 4 });
      await dataSource.initialize();
      const ledger = new Ledger(dataSource, other);
      opened.push(ledger);
      return ledger;
    };
    const ledger = await connect();
    await runMigrations(ledger.dataSource);
    current = { database, keyring, ledger, connect };
  });
  afterAll(async () => {
    await Promise.all(opened.map((ledger) => ledger.close()));
    await current?.database.dispose();
  });
  return () => {
    if (current === undefined) {
      throw new Error('the test ledger is not ready');
    }
    return current;
  };
}

/** A link with unique KME names, so tests sharing one database never see each other's pool. */
export async function newLink(ledger: Ledger, blockBits = 1024): Promise<Link> {
  const suffix = randomUUID().slice(0, 8);
  return ledger.links.ensure(`kme-east-${suffix}`, `kme-west-${suffix}`, blockBits);
}

export const inAnHour = () => new Date(Date.now() + 3_600_000);

/** Stores `count` ready source blocks of `bits` bits and answers their IDs and material, oldest first. */
export async function readyBlocks(
  ledger: Ledger,
  link: Link,
  count: number,
  bits = link.blockBits,
  expiresAt = inAnHour(),
): Promise<{ id: string; material: Buffer }[]> {
  const blocks: { id: string; material: Buffer }[] = [];
  for (let i = 0; i < count; i += 1) {
    const block = { id: randomUUID(), material: randomBytes(Math.ceil(bits / 8)) };
    await ledger.blocks.store({
      ...block,
      linkId: link.id,
      role: 'source',
      state: 'ready',
      bits,
      metadata: Buffer.from(`sealed metadata ${i}`),
      expiresAt: new Date(expiresAt.getTime() + i),
    });
    blocks.push(block);
  }
  return blocks;
}
