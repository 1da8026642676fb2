import type { Ledger } from '@dqkd/ledger';

/** Flips one bit of the sealed material of rows of `table`, as an alteration at rest would: it no longer opens. */
export async function alterAtRest(
  ledger: Ledger,
  table: 'keys' | 'blocks',
  ids: readonly string[],
): Promise<void> {
  await ledger.dataSource.query(
    `UPDATE ${table} SET material_ciphertext = set_byte(material_ciphertext, 0, get_byte(material_ciphertext, 0) # 1)
     WHERE ${table === 'keys' ? 'key_id' : 'id'} = ANY ($1::uuid[])`,
    [ids],
  );
}
