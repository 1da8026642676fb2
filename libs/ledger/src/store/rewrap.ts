import { EntityManager } from 'typeorm';

import { MaterialCipher, MaterialTable } from '../crypto/material-cipher';
import { MaterialIntegrityError } from '../errors';
import { inTransaction, rows } from './sql';

export interface RewrapCounts {
  readonly blocks: number;
  readonly keys: number;
  /** Rows whose data key no longer authenticates (tampered): left as they are, for an operator to look at. */
  readonly unreadable: readonly { readonly table: MaterialTable; readonly id: string }[];
}

const ID_COLUMN: Record<MaterialTable, string> = { blocks: 'id', keys: 'key_id' };

/**
 * Re-wraps every data key still wrapped under an older KEK version with the current one, in batches of short
 * transactions; material ciphertext is never touched. Afterwards the old versions can leave the keyring.
 */
export async function rewrapAll(
  manager: EntityManager,
  cipher: MaterialCipher,
  batchSize = 500,
): Promise<RewrapCounts> {
  const unreadable: { table: MaterialTable; id: string }[] = [];
  const blocks = await rewrapTable(manager, cipher, 'blocks', batchSize, unreadable);
  const keys = await rewrapTable(manager, cipher, 'keys', batchSize, unreadable);
  return { blocks, keys, unreadable };
}

async function rewrapTable(
  manager: EntityManager,
  cipher: MaterialCipher,
  table: MaterialTable,
  batchSize: number,
  unreadable: { table: MaterialTable; id: string }[],
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
          unreadable.push({ table, id: row.id });
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
