import { EntityManager, In } from 'typeorm';

import { LedgerConflictError } from '../errors';
import { MaterialCipher, type SealedMaterial } from '../crypto/material-cipher';
import { KeyEntity } from '../entities/key.entity';
import { KEYS_RECORDED_CHANNEL } from './channels';
import {
  EXCLUSION_VIOLATION,
  inTransaction,
  NOT_NULL_VIOLATION,
  rows,
  sealedColumns,
  sealedOf,
  sqlState,
  UNIQUE_VIOLATION,
  type SealedColumns,
} from './sql';
import { KeyRecord, MessageClaim, NewKey, Slave } from './types';

/** Why a delivery was refused; the gateway maps each to one ETSI status. */
export type DeliveryRefusal = 'unknown-key' | 'not-a-slave' | 'already-delivered' | 'expired' | 'no-material';

export type DeliveryResult =
  | { readonly ok: true; readonly keys: readonly { readonly keyId: string; readonly material: Buffer }[] }
  | { readonly ok: false; readonly reason: DeliveryRefusal; readonly keyId: string };

/** A key as a delivery sees it, its slave entries locked until the transaction ends. */
export interface DeliverableKey {
  readonly keyId: string;
  readonly linkId: number;
  readonly masterSaeId: string;
  readonly expiresAt: Date;
  readonly expired: boolean;
  readonly hasMaterial: boolean;
  readonly slaves: readonly (Slave & { readonly deliveredAt: Date | null })[];
}

/** One key handed to one slave entry. */
export interface DeliveryClaim {
  readonly keyId: string;
  readonly slave: Slave;
}

interface DeliveryRow {
  key_id: string;
  link_id: number;
  master_sae_id: string;
  expires_at: Date;
  expired: boolean;
  ciphertext: Buffer | null;
  wrapped_key: Buffer | null;
  kek_id: number | null;
  kind: 'sae' | 'kme';
  slave_id: string;
  delivered_at: Date | null;
}

export class KeyStore {
  /** Sealed material of the keys this scope's transaction locked for delivery, until completeDelivery. */
  private readonly lockedMaterial = new Map<string, { linkId: number; sealed: SealedMaterial }>();

  constructor(
    private readonly manager: EntityManager,
    private readonly cipher: MaterialCipher,
  ) {}

  /**
   * Records keys with their slaves and one `key-issued` audit event per link, all in one statement (atomic on
   * its own, and one round trip: this runs once per enc_keys batch at the source and once per assignment at
   * the target). The database refuses a key ID that exists already and a key whose bits overlap another
   * key's: both surface as LedgerConflictError and nothing is recorded. Keys with material (the target's)
   * are announced on KEYS_RECORDED_CHANNEL at commit, waking gateways that wait for them.
   *
   * With `claim`, the same statement first records that message as processed (see Inbox) and records the keys
   * only if it was not processed before: answers false then, and records nothing.
   */
  async record(keys: readonly NewKey[], claim?: MessageClaim): Promise<boolean> {
    if (keys.length === 0) {
      return false;
    }
    const withMaterial = keys.flatMap((key) =>
      key.material === undefined ? [] : [{ rowId: key.keyId, material: key.material }],
    );
    const sealedInOrder = this.cipher.sealAll('keys', withMaterial).values();
    const sealed = keys.map((key) => (key.material === undefined ? undefined : sealedInOrder.next().value));
    const slaves = keys.flatMap((key) => key.slaves.map((slave) => ({ keyId: key.keyId, ...slave })));
    const announce = sealed.some((material) => material !== undefined);
    try {
      // The slave entries and the audit event join the keys inserted. A key whose reservation is not recorded
      // for its link gets no reservation_bits, which the column refuses: the statement fails as a whole.
      const [inserted] = await rows<{ count: number }>(
        this.manager,
        `WITH c AS (
           INSERT INTO processed_messages (message_id, subject) SELECT $14::text, $15::text WHERE $14::text IS NOT NULL
           ON CONFLICT (message_id) DO NOTHING RETURNING message_id
         ), k AS (
           INSERT INTO keys (key_id, link_id, master_sae_id, size, reservation_id, reservation_bits,
             reservation_offset, material_ciphertext, material_wrapped_key, material_kek_id, expires_at)
           SELECT t.key_id, t.link_id, t.master, t.size, t.reservation_id,
             (SELECT r.bits FROM reservations r WHERE r.id = t.reservation_id AND r.link_id = t.link_id),
             t.offset_bits, t.ciphertext, t.wrapped_key, t.kek_id, t.expires_at
           FROM unnest($1::uuid[], $2::int[], $3::text[], $4::int[], $5::uuid[], $6::int[], $7::bytea[],
             $8::bytea[], $9::int[], $10::timestamptz[])
             AS t (key_id, link_id, master, size, reservation_id, offset_bits, ciphertext, wrapped_key, kek_id,
               expires_at)
           WHERE $14::text IS NULL OR EXISTS (SELECT 1 FROM c)
           RETURNING key_id, link_id, master_sae_id, size
         ), u AS (
           SELECT * FROM unnest($11::uuid[], $12::text[], $13::text[]) AS u (key_id, slave_id, kind)
         ), s AS (
           INSERT INTO key_slaves (key_id, slave_id, kind)
           SELECT u.key_id, u.slave_id, u.kind FROM u JOIN k USING (key_id)
         ), a AS (
           INSERT INTO audit_events (event, link_id, key_ids, sae_ids, bits)
           SELECT 'key-issued', k.link_id, array_agg(k.key_id), (
               -- Everyone this issue names, each once: masters first.
               SELECT array_agg(named.sae ORDER BY named.rank, named.sae) FROM (
                 SELECT n.sae, min(n.rank) AS rank FROM (
                   SELECT m.master_sae_id AS sae, 0 AS rank FROM k m WHERE m.link_id = k.link_id
                   UNION ALL
                   SELECT v.slave_id, 1 FROM u v JOIN k w USING (key_id) WHERE w.link_id = k.link_id
                 ) AS n GROUP BY n.sae
               ) AS named
             ), sum(k.size)
           FROM k GROUP BY k.link_id
         )
         SELECT count(*)::int AS count${announce ? `, pg_notify('${KEYS_RECORDED_CHANNEL}', '')` : ''} FROM k`,
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
          slaves.map((slave) => slave.keyId),
          slaves.map((slave) => slave.id),
          slaves.map((slave) => slave.kind),
          claim?.messageId ?? null,
          claim?.subject ?? null,
        ],
      );
      return inserted.count > 0;
    } catch (error) {
      const state = sqlState(error);
      if (state === NOT_NULL_VIOLATION) {
        throw new LedgerConflictError(
          'unknown-reservation',
          'a key names a reservation that is not recorded for its link',
        );
      }
      if (state === UNIQUE_VIOLATION) {
        throw new LedgerConflictError('key-id-taken', 'a key with one of these key IDs exists already');
      }
      if (state === EXCLUSION_VIOLATION) {
        throw new LedgerConflictError('bits-already-used', 'a key overlaps bits another key already holds');
      }
      throw error;
    }
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
    const [row] = await rows<SealedColumns>(
      this.manager,
      `SELECT ${sealedColumns()}
       FROM keys WHERE key_id = $1 AND material_ciphertext IS NOT NULL`,
      [keyId],
    );
    return row === undefined ? undefined : this.cipher.open('keys', keyId, sealedOf(row));
  }

  /**
   * Delivers keys to one slave: all of them or none, each slave entry at most once (see lockForDelivery and
   * completeDelivery, which the gateway uses to deliver many requests in one transaction).
   */
  async deliver(keyIds: readonly string[], slave: Slave): Promise<DeliveryResult> {
    return inTransaction(this.manager, async (manager) => {
      const store = new KeyStore(manager, this.cipher);
      const found = await store.lockForDelivery(keyIds);
      for (const keyId of keyIds) {
        const refusal = deliveryRefusal(found.get(keyId), slave);
        if (refusal !== undefined) {
          return { ok: false, reason: refusal, keyId };
        }
      }
      const materials = await store.completeDelivery(keyIds.map((keyId) => ({ keyId, slave })));
      return { ok: true, keys: keyIds.map((keyId) => ({ keyId, material: materials.get(keyId) as Buffer })) };
    });
  }

  /**
   * Run inside a transaction: reads the keys among `keyIds` with their slave entries, and locks those entries
   * (in key order, so concurrent deliveries of overlapping sets cannot deadlock) until the transaction ends.
   * A concurrent delivery of the same entry waits, then sees it delivered. The keys' sealed material comes
   * along in the same round trip and stays with this scope for completeDelivery.
   */
  async lockForDelivery(keyIds: readonly string[]): Promise<Map<string, DeliverableKey>> {
    if (!this.manager.queryRunner?.isTransactionActive) {
      throw new Error('KeyStore.lockForDelivery must run inside the transaction that completes the delivery');
    }
    const found = await rows<DeliveryRow>(
      this.manager,
      `SELECT k.key_id, k.link_id, k.master_sae_id, k.expires_at, k.expires_at <= now() AS expired,
         ${sealedColumns('k')},
         s.kind, s.slave_id, s.delivered_at
       FROM keys k JOIN key_slaves s ON s.key_id = k.key_id
       WHERE k.key_id = ANY ($1::uuid[])
       ORDER BY k.key_id, s.kind, s.slave_id FOR UPDATE OF s`,
      [[...new Set(keyIds)]],
    );
    const keys = new Map<string, DeliverableKey & { slaves: (Slave & { deliveredAt: Date | null })[] }>();
    for (const row of found) {
      // keys_material_whole keeps the three material columns all set or all null, so the KEK version tells.
      if (row.kek_id !== null && !this.lockedMaterial.has(row.key_id)) {
        this.lockedMaterial.set(row.key_id, { linkId: row.link_id, sealed: sealedOf(row as SealedColumns) });
      }
      let key = keys.get(row.key_id);
      if (key === undefined) {
        key = {
          keyId: row.key_id,
          linkId: row.link_id,
          masterSaeId: row.master_sae_id,
          expiresAt: row.expires_at,
          expired: row.expired,
          hasMaterial: row.kek_id !== null,
          slaves: [],
        };
        keys.set(row.key_id, key);
      }
      key.slaves.push({ kind: row.kind, id: row.slave_id, deliveredAt: row.delivered_at });
    }
    return keys;
  }

  /**
   * Run inside the transaction of lockForDelivery, with claims it allowed: marks each slave entry delivered,
   * answers each key's material (the caller zeroes it), drops the material of keys every slave now has and
   * appends the audit event, in one statement.
   */
  async completeDelivery(claims: readonly DeliveryClaim[]): Promise<Map<string, Buffer>> {
    if (claims.length === 0) {
      return new Map();
    }
    const keyIds = [...new Set(claims.map((claim) => claim.keyId))];
    const locked = keyIds.map((keyId) => ({ keyId, held: this.lockedMaterial.get(keyId) }));
    if (locked.some(({ held }) => held === undefined)) {
      throw new LedgerConflictError('no-material', 'a key claimed for delivery holds no material');
    }
    const materials = new Map(
      locked.map(({ keyId, held }) => [keyId, this.cipher.open('keys', keyId, held!.sealed)]),
    );
    // The UPDATE of keys sees the slave entries as they were before this statement: an entry counts as
    // delivered when it was before or when this claim delivers it.
    await rows(
      this.manager,
      `WITH t AS (
         SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[]) AS t (key_id, kind, slave_id)
       ), d AS (
         UPDATE key_slaves s SET delivered_at = now() FROM t
         WHERE s.key_id = t.key_id AND s.kind = t.kind AND s.slave_id = t.slave_id
       ), m AS (
         UPDATE keys k SET material_ciphertext = NULL, material_wrapped_key = NULL, material_kek_id = NULL
         WHERE k.key_id = ANY ($4::uuid[])
           AND NOT EXISTS (
             SELECT 1 FROM key_slaves s WHERE s.key_id = k.key_id AND s.delivered_at IS NULL
               AND NOT EXISTS (
                 SELECT 1 FROM t WHERE t.key_id = s.key_id AND t.kind = s.kind AND t.slave_id = s.slave_id
               )
           )
       )
       INSERT INTO audit_events (event, link_id, key_ids, sae_ids)
       SELECT 'key-delivered', l.link_id, array_agg(DISTINCT t.key_id), array_agg(DISTINCT t.slave_id)
       FROM t JOIN unnest($4::uuid[], $5::int[]) AS l (key_id, link_id) USING (key_id)
       GROUP BY l.link_id`,
      [
        claims.map((claim) => claim.keyId),
        claims.map((claim) => claim.slave.kind),
        claims.map((claim) => claim.slave.id),
        keyIds,
        locked.map(({ held }) => held!.linkId),
      ],
    );
    keyIds.forEach((keyId) => this.lockedMaterial.delete(keyId));
    return materials;
  }
}

/** Why `slave` cannot take `key` now, or undefined when it can (its entry exists and is not yet delivered). */
export function deliveryRefusal(key: DeliverableKey | undefined, slave: Slave): DeliveryRefusal | undefined {
  if (key === undefined) {
    return 'unknown-key';
  }
  const entry = key.slaves.find((each) => each.kind === slave.kind && each.id === slave.id);
  if (entry === undefined) {
    return 'not-a-slave';
  }
  if (entry.deliveredAt !== null) {
    return 'already-delivered';
  }
  if (key.expired) {
    return 'expired';
  }
  if (!key.hasMaterial) {
    return 'no-material';
  }
  return undefined;
}
