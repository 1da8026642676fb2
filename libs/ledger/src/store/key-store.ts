import { EntityManager, In } from 'typeorm';

import { LedgerConflictError } from '../errors';
import { MaterialCipher, SealedMaterial } from '../crypto/material-cipher';
import { KeyEntity } from '../entities/key.entity';
import { AuditTrail } from './audit-trail';
import { EXCLUSION_VIOLATION, inTransaction, rows, sqlState, UNIQUE_VIOLATION } from './sql';
import { KeyRecord, NewKey, Slave } from './types';

/** Why a delivery was refused; the gateway maps each to one ETSI status. */
export type DeliveryRefusal = 'unknown-key' | 'not-a-slave' | 'already-delivered' | 'expired' | 'no-material';

export type DeliveryResult =
  | { readonly ok: true; readonly keys: readonly { readonly keyId: string; readonly material: Buffer }[] }
  | { readonly ok: false; readonly reason: DeliveryRefusal; readonly keyId: string };

interface DeliveryRow {
  key_id: string;
  link_id: number;
  expired: boolean;
  ciphertext: Buffer | null;
  wrapped_key: Buffer | null;
  kek_id: number | null;
  slave_id: string | null;
  delivered_at: Date | null;
}

export class KeyStore {
  constructor(
    private readonly manager: EntityManager,
    private readonly cipher: MaterialCipher,
  ) {}

  /**
   * Records keys with their slaves in one transaction. The database refuses a key ID that exists already and a
   * key whose bits overlap another key's: both surface as LedgerConflictError and nothing is recorded.
   */
  async record(keys: readonly NewKey[]): Promise<void> {
    if (keys.length === 0) {
      return;
    }
    const sealed = keys.map((key) =>
      key.material === undefined ? undefined : this.cipher.seal('keys', key.keyId, key.material),
    );
    await inTransaction(this.manager, async (manager) => {
      try {
        const inserted = await rows<{ key_id: string }>(
          manager,
          `INSERT INTO keys (key_id, link_id, master_sae_id, size, reservation_id, reservation_bits,
             reservation_offset, material_ciphertext, material_wrapped_key, material_kek_id, expires_at)
           SELECT t.key_id, t.link_id, t.master, t.size, t.reservation_id, r.bits, t.offset_bits,
             t.ciphertext, t.wrapped_key, t.kek_id, t.expires_at
           FROM unnest($1::uuid[], $2::int[], $3::text[], $4::int[], $5::uuid[], $6::int[], $7::bytea[],
             $8::bytea[], $9::int[], $10::timestamptz[])
             AS t (key_id, link_id, master, size, reservation_id, offset_bits, ciphertext, wrapped_key, kek_id,
               expires_at)
           JOIN reservations r ON r.id = t.reservation_id AND r.link_id = t.link_id
           RETURNING key_id`,
          [
            keys.map((key) => key.keyId),
            keys.map((key) => key.linkId),
            keys.map((key) => key.masterSaeId),
            keys.map((key) => key.size),
            keys.map((key) => key.reservationId),
            keys.map((key) => key.offset),
            sealed.map((s) => s?.ciphertext ?? null),
            sealed.map((s) => s?.wrappedKey ?? null),
            sealed.map((s) => s?.kekId ?? null),
            keys.map((key) => key.expiresAt),
          ],
        );
        if (inserted.length !== keys.length) {
          throw new LedgerConflictError(
            'unknown-reservation',
            'a key names a reservation that is not recorded for its link',
          );
        }
      } catch (error) {
        const state = sqlState(error);
        if (state === UNIQUE_VIOLATION) {
          throw new LedgerConflictError('key-id-taken', 'a key with one of these key IDs exists already');
        }
        if (state === EXCLUSION_VIOLATION) {
          throw new LedgerConflictError('bits-already-used', 'a key overlaps bits another key already holds');
        }
        throw error;
      }
      const slaves = keys.flatMap((key) => key.slaves.map((slave) => ({ keyId: key.keyId, ...slave })));
      await manager.query(
        `INSERT INTO key_slaves (key_id, slave_id, kind) SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[])`,
        [slaves.map((s) => s.keyId), slaves.map((s) => s.id), slaves.map((s) => s.kind)],
      );
      const audit = new AuditTrail(manager);
      for (const linkId of new Set(keys.map((key) => key.linkId))) {
        const ofLink = keys.filter((key) => key.linkId === linkId);
        await audit.append({
          event: 'key-issued',
          linkId,
          keyIds: ofLink.map((key) => key.keyId),
          saeIds: [
            ...new Set(ofLink.flatMap((key) => [key.masterSaeId, ...key.slaves.map((slave) => slave.id)])),
          ],
          bits: ofLink.reduce((sum, key) => sum + key.size, 0),
        });
      }
    });
  }

  /** The keys that exist among `keyIds`, without material. */
  async find(keyIds: readonly string[]): Promise<KeyRecord[]> {
    const found = await this.manager.find(KeyEntity, {
      where: { keyId: In([...keyIds]) },
      relations: { slaves: true },
      order: { slaves: { slaveId: 'ASC' } },
    });
    return found.map((key) => ({
      keyId: key.keyId,
      linkId: key.linkId,
      masterSaeId: key.masterSaeId,
      size: key.size,
      reservationId: key.reservationId,
      offset: key.reservationOffset,
      // keys_material_whole keeps the three material columns all set or all null, so the KEK version tells.
      hasMaterial: key.materialKekId !== null,
      createdAt: key.createdAt,
      expiresAt: key.expiresAt,
      slaves: (key.slaves ?? []).map((slave) => ({
        kind: slave.kind,
        id: slave.slaveId,
        deliveredAt: slave.deliveredAt,
      })),
    }));
  }

  /** A key's plaintext material, or undefined when it holds none. Zero it when done. */
  async readMaterial(keyId: string): Promise<Buffer | undefined> {
    const [row] = await rows<{ ciphertext: Buffer; wrapped_key: Buffer; kek_id: number }>(
      this.manager,
      `SELECT material_ciphertext AS ciphertext, material_wrapped_key AS wrapped_key, material_kek_id AS kek_id
       FROM keys WHERE key_id = $1 AND material_ciphertext IS NOT NULL`,
      [keyId],
    );
    return row === undefined
      ? undefined
      : this.cipher.open('keys', keyId, {
          ciphertext: row.ciphertext,
          wrappedKey: row.wrapped_key,
          kekId: row.kek_id,
        });
  }

  /**
   * Delivers keys to one slave: all of them or none. Each slave entry is marked delivered exactly once, even
   * under concurrent attempts (the row lock serialises them and the loser sees delivered_at set). A key's
   * material is dropped as soon as every slave has it.
   */
  async deliver(keyIds: readonly string[], slave: Slave): Promise<DeliveryResult> {
    return inTransaction(this.manager, async (manager) => {
      // Lock the slave rows first, in key order, so concurrent deliveries of overlapping sets cannot deadlock.
      await manager.query(
        `SELECT 1 FROM key_slaves WHERE key_id = ANY ($1::uuid[]) AND slave_id = $2 AND kind = $3
         ORDER BY key_id FOR UPDATE`,
        [keyIds, slave.id, slave.kind],
      );
      const found = await rows<DeliveryRow>(
        manager,
        `SELECT k.key_id, k.link_id, k.expires_at <= now() AS expired, k.material_ciphertext AS ciphertext,
           k.material_wrapped_key AS wrapped_key, k.material_kek_id AS kek_id, s.slave_id, s.delivered_at
         FROM keys k LEFT JOIN key_slaves s ON s.key_id = k.key_id AND s.slave_id = $2 AND s.kind = $3
         WHERE k.key_id = ANY ($1::uuid[])`,
        [keyIds, slave.id, slave.kind],
      );
      const byId = new Map(found.map((row) => [row.key_id, row]));
      for (const keyId of keyIds) {
        const refusal = refusalFor(byId.get(keyId));
        if (refusal !== undefined) {
          return { ok: false, reason: refusal, keyId };
        }
      }
      const delivered = keyIds.map((keyId) => {
        const row = byId.get(keyId) as DeliveryRow;
        return { keyId, material: this.cipher.open('keys', keyId, sealedOf(row)) };
      });
      await manager.query(
        `UPDATE key_slaves SET delivered_at = now() WHERE key_id = ANY ($1::uuid[]) AND slave_id = $2 AND kind = $3`,
        [keyIds, slave.id, slave.kind],
      );
      await manager.query(
        `UPDATE keys k SET material_ciphertext = NULL, material_wrapped_key = NULL, material_kek_id = NULL
         WHERE k.key_id = ANY ($1::uuid[])
           AND NOT EXISTS (SELECT 1 FROM key_slaves s WHERE s.key_id = k.key_id AND s.delivered_at IS NULL)`,
        [keyIds],
      );
      const audit = new AuditTrail(manager);
      for (const linkId of new Set(found.map((row) => row.link_id))) {
        await audit.append({
          event: 'key-delivered',
          linkId,
          keyIds: found.filter((row) => row.link_id === linkId).map((row) => row.key_id),
          saeIds: [slave.id],
        });
      }
      return { ok: true, keys: delivered };
    });
  }
}

function refusalFor(row: DeliveryRow | undefined): DeliveryRefusal | undefined {
  if (row === undefined) {
    return 'unknown-key';
  }
  if (row.slave_id === null) {
    return 'not-a-slave';
  }
  if (row.delivered_at !== null) {
    return 'already-delivered';
  }
  if (row.expired) {
    return 'expired';
  }
  if (row.ciphertext === null) {
    return 'no-material';
  }
  return undefined;
}

function sealedOf(row: DeliveryRow): SealedMaterial {
  return {
    ciphertext: row.ciphertext as Buffer,
    wrappedKey: row.wrapped_key as Buffer,
    kekId: row.kek_id as number,
  };
}
