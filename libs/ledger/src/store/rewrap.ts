import { setTimeout as sleep } from 'node:timers/promises';

import { EntityManager } from 'typeorm';

import { MaterialCipher, MaterialTable } from '../crypto/material-cipher';
import { MaterialIntegrityError } from '../errors';
import { inTransaction, rows } from './sql';

export interface RewrapCounts {
  readonly blocks: number;
  readonly keys: number;
  /** Rows whose data key no longer authenticates (tampered): left as they are, for an operator to look at. */
  readonly unreadable: readonly { readonly table: MaterialTable; readonly id: string }[];
  /**
   * Other rows still under an older version: locked by the site's work through every pass, or written
   * meanwhile by a process that does not have the new version yet. An old version may leave the keyring only
   * once this is 0.
   */
  readonly remaining: number;
}

const ID_COLUMN: Record<MaterialTable, string> = { blocks: 'id', keys: 'key_id' };
/**
 * Passes over both tables at most. A pass skips rows the site's work holds locked (a gateway taking bits out
 * of a block, the target recording a reservation on it) rather than wait for them or deadlock with them; those
 * locks last a statement or two, so a later pass finds the rows free.
 */
const PASSES = 5;
const PAUSE_BETWEEN_PASSES_MS = 200;

/**
 * Re-wraps every data key still wrapped under an older KEK version with the current one, in batches of short
 * transactions; material ciphertext is never touched. Afterwards, when nothing remains, the old versions can
 * leave the keyring.
 */
export async function rewrapAll(
  manager: EntityManager,
  cipher: MaterialCipher,
  batchSize = 500,
): Promise<RewrapCounts> {
  // By table and ID: a later pass meets the unreadable rows again.
  const unreadable = new Map<string, { table: MaterialTable; id: string }>();
  let blocks = 0;
  let keys = 0;
  for (let pass = 1; ; pass++) {
    blocks += await rewrapTable(manager, cipher, 'blocks', batchSize, unreadable);
    keys += await rewrapTable(manager, cipher, 'keys', batchSize, unreadable);
    const remaining = await countRemaining(manager, cipher, [...unreadable.values()]);
    if (remaining === 0 || pass === PASSES) {
      return { blocks, keys, unreadable: [...unreadable.values()], remaining };
    }
    await sleep(PAUSE_BETWEEN_PASSES_MS);
  }
}

/** Rows of both tables under an older KEK version, the unreadable ones left out. */
async function countRemaining(
  manager: EntityManager,
  cipher: MaterialCipher,
  unreadable: readonly { table: MaterialTable; id: string }[],
): Promise<number> {
  const idsOf = (table: MaterialTable) =>
    unreadable.filter((row) => row.table === table).map((row) => row.id);
  const [{ remaining }] = await rows<{ remaining: number }>(
    manager,
    `SELECT (SELECT count(*) FROM blocks WHERE material_kek_id <> $1 AND id <> ALL ($2::uuid[]))::int
          + (SELECT count(*) FROM keys WHERE material_kek_id <> $1 AND key_id <> ALL ($3::uuid[]))::int
            AS remaining`,
    [cipher.currentKekId, idsOf('blocks'), idsOf('keys')],
  );
  return remaining;
}

async function rewrapTable(
  manager: EntityManager,
  cipher: MaterialCipher,
  table: MaterialTable,
  batchSize: number,
  unreadable: Map<string, { table: MaterialTable; id: string }>,
): Promise<number> {
  const id = ID_COLUMN[table];
  let total = 0;
  let after = '00000000-0000-0000-0000-000000000000';
  // Walks the table once in ID order, so the loop ends after about rows / batchSize turns.
  for (;;) {
    const batch = await inTransaction(manager, async (tx) => {
      const found = await rows<{ id: string; wrapped_key: Buffer; kek_id: number }>(
        tx,
        `SELECT ${id} AS id, material_wrapped_key AS wrapped_key, material_kek_id AS kek_id FROM ${table}
         WHERE material_kek_id IS NOT NULL AND material_kek_id <> $1 AND ${id} > $2
         ORDER BY ${id} LIMIT $3 FOR UPDATE SKIP LOCKED`,
        [cipher.currentKekId, after, batchSize],
      );
      const rewrapped: { id: string; wrappedKey: Buffer; kekId: number }[] = [];
      for (const row of found) {
        try {
          rewrapped.push({ id: row.id, ...cipher.rewrap(table, row.id, row.wrapped_key, row.kek_id) });
        } catch (error) {
          if (!(error instanceof MaterialIntegrityError)) {
            throw error;
          }
          unreadable.set(`${table} ${row.id}`, { table, id: row.id });
        }
      }
      await tx.query(
        `UPDATE ${table} AS x SET material_wrapped_key = t.wrapped_key, material_kek_id = t.kek_id
         FROM unnest($1::uuid[], $2::bytea[], $3::int[]) AS t (id, wrapped_key, kek_id) WHERE x.${id} = t.id`,
        [rewrapped.map((r) => r.id), rewrapped.map((r) => r.wrappedKey), rewrapped.map((r) => r.kekId)],
      );
      return { seen: found.length, last: found[found.length - 1]?.id, rewrapped: rewrapped.length };
    });
    total += batch.rewrapped;
    if (batch.seen < batchSize || batch.last === undefined) {
      return total;
    }
    after = batch.last;
  }
}
