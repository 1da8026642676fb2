/**
 * Flips one bit of the sealed material of rows of `table`, as an alteration at rest would: it no longer opens.
 * Typed by what it uses, so the end-to-end tests can call it with the built ledger too.
 */
export async function alterAtRest(
  ledger: { readonly dataSource: { query(sql: string, parameters: unknown[]): Promise<unknown> } },
  table: 'keys' | 'blocks',
  ids: readonly string[],
): Promise<void> {
  await ledger.dataSource.query(
    `UPDATE ${table} SET material_ciphertext = set_byte(material_ciphertext, 0, get_byte(material_ciphertext, 0) # 1)
     WHERE ${table === 'keys' ? 'key_id' : 'id'} = ANY ($1::uuid[])`,
    [ids],
  );
}
