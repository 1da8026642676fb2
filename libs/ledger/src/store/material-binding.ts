import type { MaterialRow, MaterialTable, StoredMaterial } from '../crypto/material-cipher';
import type { BlockRole, Slave } from './types';

/*
 * What a row's material is sealed to besides its ID (see MaterialRow). For a key: its link, master, deadline
 * and slave entries, which decide who may fetch it and until when. For a block: its link, role and deadline,
 * which decide which link's keys its bits become and until when. No statement changes them once the row is
 * written; a row where someone changed one no longer opens.
 */

const slaveName = (slave: Slave): string => `${slave.kind}:${slave.id}`;

function boundKey(
  keyId: string,
  linkId: number,
  masterSaeId: string,
  expiresAt: Date,
  slaveNames: readonly string[],
): MaterialRow {
  // Sorted by code unit here, never by the database's collation: both sides must list them alike.
  return { id: keyId, bound: [linkId, masterSaeId, expiresAt.toISOString(), ...[...slaveNames].sort()] };
}

/** A key as its material is sealed to it when recorded. */
export function keyRow(key: {
  readonly keyId: string;
  readonly linkId: number;
  readonly masterSaeId: string;
  readonly expiresAt: Date;
  readonly slaves: readonly Slave[];
}): MaterialRow {
  return boundKey(key.keyId, key.linkId, key.masterSaeId, key.expiresAt, key.slaves.map(slaveName));
}

/** A block as its material is sealed to it when stored. */
export function blockRow(block: {
  readonly id: string;
  readonly linkId: number;
  readonly role: BlockRole;
  readonly expiresAt: Date;
}): MaterialRow {
  return { id: block.id, bound: [block.linkId, block.role, block.expiresAt.toISOString()] };
}

/** A row's material columns and the columns it is sealed to, as storedColumns selects them. */
export interface StoredColumns {
  ciphertext: Buffer;
  wrapped_key: Buffer;
  kek_id: number;
  bound_link_id: number;
  bound_expires_at: Date;
  /** Keys only. */
  bound_master_sae_id?: string;
  /** Keys only: each slave entry as kind:id. */
  bound_slaves?: string[];
  /** Blocks only. */
  bound_role?: BlockRole;
}

/**
 * The select list of a row's material columns with the columns it is sealed to (see storedOf); `alias` names
 * the table in the statement.
 */
export function storedColumns(table: MaterialTable, alias: string): string {
  const common = `${alias}.material_ciphertext AS ciphertext, ${alias}.material_wrapped_key AS wrapped_key,
    ${alias}.material_kek_id AS kek_id, ${alias}.link_id AS bound_link_id, ${alias}.expires_at AS bound_expires_at`;
  return table === 'blocks'
    ? `${common}, ${alias}.role AS bound_role`
    : `${common}, ${alias}.master_sae_id AS bound_master_sae_id,
       ARRAY(SELECT s.kind || ':' || s.slave_id FROM key_slaves s WHERE s.key_id = ${alias}.key_id) AS bound_slaves`;
}

/** The sealed material of row `id` as selected by storedColumns, to open with MaterialCipher.open. */
export function storedOf(table: MaterialTable, id: string, row: StoredColumns): StoredMaterial {
  return {
    ciphertext: row.ciphertext,
    wrappedKey: row.wrapped_key,
    kekId: row.kek_id,
    row:
      table === 'blocks'
        ? blockRow({ id, linkId: row.bound_link_id, role: row.bound_role!, expiresAt: row.bound_expires_at })
        : boundKey(id, row.bound_link_id, row.bound_master_sae_id!, row.bound_expires_at, row.bound_slaves!),
  };
}
