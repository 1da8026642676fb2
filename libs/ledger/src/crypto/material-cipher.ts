import { randomBytes } from 'node:crypto';

import { MaterialIntegrityError } from '../errors';
import { aeadOpen, aeadSeal, IV_BYTES } from './aead';
import { unwrapKey, wrapKey, WRAPPED_KEY_BYTES } from './key-wrap';
import { Keyring } from './keyring';

/** Tables whose rows carry material; part of the additional data so a row's ciphertext only opens in place. */
export type MaterialTable = 'blocks' | 'keys';

/** The three material columns of a row, exactly as stored. */
export interface SealedMaterial {
  readonly ciphertext: Buffer;
  readonly wrappedKey: Buffer;
  readonly kekId: number;
}

/**
 * A row as its material is sealed to it: its ID, and the values of the columns that decide who may have the
 * material and until when (see the stores' material-binding). Material opens only with the values it was
 * sealed with, so that whoever can write to the ledger without the KEK cannot change them and still have
 * the material served.
 */
export interface MaterialRow {
  readonly id: string;
  readonly bound: readonly (string | number)[];
}

/** Sealed material as read back, with the row it must open as. */
export interface StoredMaterial extends SealedMaterial {
  readonly row: MaterialRow;
}

const DATA_KEY_BYTES = 32;

function materialAad(table: MaterialTable, row: MaterialRow): Buffer {
  return Buffer.from(`dqkd-ledger/material/v2/${table}/${row.id}/${JSON.stringify(row.bound)}`, 'utf8');
}

/**
 * What earlier versions sealed material to: the row ID alone. Such rows still open (see open); they hold
 * material for an hour at most after an upgrade, unless someone who can write to the ledger extends them.
 */
function unboundMaterialAad(table: MaterialTable, rowId: string): Buffer {
  return Buffer.from(`dqkd-ledger/material/v1/${table}/${rowId}`, 'utf8');
}

function wrapAad(table: MaterialTable, rowId: string, kekId: number): Buffer {
  return Buffer.from(`dqkd-ledger/data-key/v1/${table}/${rowId}/${kekId}`, 'utf8');
}

/**
 * Envelope encryption of material at rest: a fresh data key per row encrypts the material (AES-256-GCM), and
 * the current KEK wraps the data key (AES key wrap, see wrapKey). Rotating the KEK then only rewrites the small
 * wrapped keys, never the material. Rows written by earlier versions carry an AES-256-GCM wrap of the data key
 * (60 bytes, random IV): they still open, and go with their material (within about an hour), or are turned into
 * key wraps by a rewrap onto a newer KEK version.
 */
export class MaterialCipher {
  constructor(private readonly keyring: Keyring) {}

  get currentKekId(): number {
    return this.keyring.current.version;
  }

  /** The KEK versions this process can open material under. */
  get kekIds(): number[] {
    return this.keyring.versions;
  }

  seal(table: MaterialTable, row: MaterialRow, material: Buffer): SealedMaterial {
    return this.sealAll(table, [{ row, material }])[0]!;
  }

  /**
   * Seals many rows as seal() does each, a fresh data key and IV per row, with the random bytes of all drawn
   * at once: drawing them row by row cost as much as the encryption (a key batch at the target has hundreds).
   */
  sealAll(table: MaterialTable, rows: readonly { row: MaterialRow; material: Buffer }[]): SealedMaterial[] {
    const perRow = DATA_KEY_BYTES + IV_BYTES;
    const random = randomBytes(rows.length * perRow);
    try {
      const kek = this.keyring.current;
      return rows.map(({ row, material }, index) => {
        const at = index * perRow;
        const dataKey = random.subarray(at, at + DATA_KEY_BYTES);
        const iv = random.subarray(at + DATA_KEY_BYTES, at + perRow);
        return {
          ciphertext: aeadSeal(dataKey, material, materialAad(table, row), iv),
          wrappedKey: wrapKey(kek.key, dataKey, wrapAad(table, row.id, kek.version)),
          kekId: kek.version,
        };
      });
    } finally {
      random.fill(0);
    }
  }

  /**
   * Returns the plaintext; the caller owns it and should zero it when done. Material sealed to the row ID alone
   * (by versions before rows were bound) opens too: a row sealed bound never opens that way.
   */
  open(table: MaterialTable, stored: StoredMaterial): Buffer {
    const { row } = stored;
    const dataKey = this.unwrap(table, row.id, stored.wrappedKey, stored.kekId);
    try {
      const material =
        aeadOpen(dataKey, stored.ciphertext, materialAad(table, row)) ??
        aeadOpen(dataKey, stored.ciphertext, unboundMaterialAad(table, row.id));
      if (material === undefined) {
        throw new MaterialIntegrityError(
          table,
          row.id,
          'ciphertext does not authenticate for this row: moved from another, or a column it is sealed to altered',
        );
      }
      return material;
    } finally {
      dataKey.fill(0);
    }
  }

  /** Re-wraps a row's data key under the current KEK; the material ciphertext stays as it is. */
  rewrap(
    table: MaterialTable,
    rowId: string,
    wrappedKey: Buffer,
    kekId: number,
  ): { wrappedKey: Buffer; kekId: number } {
    const dataKey = this.unwrap(table, rowId, wrappedKey, kekId);
    try {
      const kek = this.keyring.current;
      return {
        wrappedKey: wrapKey(kek.key, dataKey, wrapAad(table, rowId, kek.version)),
        kekId: kek.version,
      };
    } finally {
      dataKey.fill(0);
    }
  }

  private unwrap(table: MaterialTable, rowId: string, wrappedKey: Buffer, kekId: number): Buffer {
    const kek = this.keyring.get(kekId);
    if (kek === undefined) {
      throw new MaterialIntegrityError(table, rowId, `KEK version ${kekId} is not in the keyring`, true);
    }
    const aad = wrapAad(table, rowId, kekId);
    const dataKey =
      wrappedKey.length === WRAPPED_KEY_BYTES
        ? unwrapKey(kek, wrappedKey, aad)
        : aeadOpen(kek, wrappedKey, aad);
    if (dataKey?.length !== DATA_KEY_BYTES) {
      throw new MaterialIntegrityError(table, rowId, 'data key does not authenticate for this row');
    }
    return dataKey;
  }
}
