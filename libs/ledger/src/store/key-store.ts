import { randomUUID } from 'node:crypto';

import { EntityManager, In } from 'typeorm';

import { LedgerConflictError, MaterialIntegrityError } from '../errors';
import { MaterialCipher } from '../crypto/material-cipher';
import { KeyEntity } from '../entities/key.entity';
import { KEYS_RECORDED_CHANNEL } from './channels';
import {
  EXCLUSION_VIOLATION,
  NOT_NULL_VIOLATION,
  isImpossibleBits,
  rows,
  sqlColumn,
  sqlConstraint,
  sqlState,
  UNIQUE_VIOLATION,
} from './sql';
import { keyRow, storedColumns, storedOf, type StoredColumns } from './material-binding';
import { KeyRecord, MessageClaim, NewKey, SentMessage, Slave } from './types';

/** Why a delivery was refused; the gateway maps each to one ETSI status. */
export type DeliveryRefusal =
  'unknown-key' | 'not-a-slave' | 'already-delivered' | 'in-delivery' | 'expired' | 'no-material';

/**
 * How long a claim holds a slave entry for a delivery in flight (see KeyStore.claim): far longer than an answer
 * takes to go out (the gateway gives up on one after half of it), short enough that a slave whose answer was
 * lost with its gateway can fetch the key again soon.
 */
export const CLAIM_LEASE_MS = 60_000;

export type DeliveryResult =
  | { readonly ok: true; readonly keys: readonly { readonly keyId: string; readonly material: Buffer }[] }
  | { readonly ok: false; readonly reason: DeliveryRefusal; readonly keyId: string };

/** A key as a delivery judges it: its deadline, whether it holds material, its slave entries. */
export interface DeliverableKey {
  readonly keyId: string;
  readonly linkId: number;
  readonly masterSaeId: string;
  readonly expiresAt: Date;
  readonly expired: boolean;
  readonly hasMaterial: boolean;
  readonly slaves: readonly (Slave & { readonly deliveredAt: Date | null; readonly claimed: boolean })[];
}

/** What KeyStore.claim did with each request: claimed its keys, or refused it (by index in the claim). */
export interface ClaimResult {
  /** The material of each key claimed, by key ID; the caller zeroes it. */
  readonly delivered: Map<string, Buffer>;
  readonly refused: Set<number>;
  /**
   * Keys whose sealed material did not open, with the error; their requests cannot be answered. Under a KEK
   * version this process lacks (MaterialIntegrityError with kekMissing), the key was left unclaimed for a
   * process that holds it; any other error came after the claim committed, which the caller releases.
   */
  readonly unreadable: Map<string, unknown>;
  /**
   * Until when the statement claimed its entries (as Postgres wrote it, to the microsecond), undefined when it
   * claimed none: settling a claim names it, so that only the claim it stands for is settled.
   */
  readonly claimedUntil: string | undefined;
}

/** One key handed to one slave entry. */
export interface DeliveryClaim {
  readonly keyId: string;
  readonly slave: Slave;
}

/** A claim as a statement made it (see ClaimResult.claimedUntil). */
export interface HeldClaim extends DeliveryClaim {
  readonly claimedUntil: string;
}

/** Claims whose answers went out (`sent`) or did not (`unsent`), to be recorded (see KeyStore.claim). */
export interface Settled {
  readonly sent: readonly HeldClaim[];
  readonly unsent: readonly HeldClaim[];
}

const NOTHING_SETTLED: Settled = { sent: [], unsent: [] };

interface DeliveryRow {
  key_id: string;
  link_id: number;
  master_sae_id: string;
  expires_at: Date;
  expired: boolean;
  has_material: boolean;
  kind: 'sae' | 'kme';
  slave_id: string;
  delivered_at: Date | null;
  claimed: boolean;
}

export class KeyStore {
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
   *
   * `sent`: the messages that announce these keys, published by the caller right after this statement. They go
   * into the outbox as published, with the keys or not at all, for a bus that keeps nothing across a crash:
   * a start after one sends those its peers never processed again (see Outbox.sentBetween).
   */
  async record(
    keys: readonly NewKey[],
    { claim, sent = [] }: { readonly claim?: MessageClaim; readonly sent?: readonly SentMessage[] } = {},
  ): Promise<boolean> {
    if (keys.length === 0) {
      return false;
    }
    const withMaterial = keys.flatMap((key) =>
      key.material === undefined ? [] : [{ row: keyRow(key), material: key.material }],
    );
    const sealedInOrder = this.cipher.sealAll('keys', withMaterial).values();
    const sealed = keys.map((key) => (key.material === undefined ? undefined : sealedInOrder.next().value));
    const slaves = keys.flatMap((key) => key.slaves.map((slave) => ({ keyId: key.keyId, ...slave })));
    const { groups, slots } = groupKeys(keys);
    const carriesMaterial = sealed.some((material) => material !== undefined);
    try {
      // The groups, slave entries and audit event join the keys inserted. A group whose reservation is not
      // recorded for its link gets no reservation_bits, which the column refuses: the statement fails as a whole.
      // Postgres runs the inserts in no promised order, so keys recorded before under another message ID may
      // surface as their key IDs taken or as their group's bits used (see applyAssignment).
      const [inserted] = await rows<{ count: number }>(
        this.manager,
        `WITH c AS (
           INSERT INTO processed_messages (message_id, subject) SELECT $12::text, $13::text WHERE $12::text IS NOT NULL
           ON CONFLICT (message_id, subject) DO NOTHING RETURNING message_id
         ), gs AS (
           SELECT t.*, (SELECT r.bits FROM reservations r WHERE r.id = t.reservation_id AND r.link_id = t.link_id) AS bits
           FROM unnest($17::uuid[], $18::int[], $19::uuid[], $20::int[], $21::int[], $22::int[]) WITH ORDINALITY
             AS t (id, link_id, reservation_id, first_offset, size, count, index)
           WHERE $12::text IS NULL OR EXISTS (SELECT 1 FROM c)
         ), g AS (
           INSERT INTO key_groups (id, reservation_id, reservation_bits, first_offset, key_size, key_count,
             block_bits_zeroed)
           SELECT id, reservation_id, bits, first_offset, size, count, NOT $23::boolean FROM gs
         ), k AS (
           INSERT INTO keys (key_id, link_id, master_sae_id, size, reservation_id, reservation_bits,
             reservation_offset, group_id, group_ordinal, group_first_offset, group_key_count,
             material_ciphertext, material_wrapped_key, material_kek_id, expires_at)
           SELECT t.key_id, gs.link_id, t.master, gs.size, gs.reservation_id, gs.bits,
             gs.first_offset + t.ordinal * gs.size, gs.id, t.ordinal, gs.first_offset, gs.count,
             t.ciphertext, t.wrapped_key, t.kek_id, t.expires_at
           FROM unnest($1::uuid[], $2::int[], $3::int[], $4::text[], $5::bytea[], $6::bytea[], $7::int[],
             $8::timestamptz[]) AS t (key_id, group_index, ordinal, master, ciphertext, wrapped_key, kek_id, expires_at)
           JOIN gs ON gs.index = t.group_index
           RETURNING key_id, link_id, master_sae_id, size
         ), u AS (
           SELECT * FROM unnest($9::uuid[], $10::text[], $11::text[]) AS u (key_id, slave_id, kind)
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
         ), o AS (
           INSERT INTO outbox_messages (subject, msg_id, payload, published_at)
           SELECT m.subject, m.msg_id, m.payload, now()
           FROM unnest($14::text[], $15::text[], $16::bytea[]) AS m (subject, msg_id, payload)
           WHERE EXISTS (SELECT 1 FROM k)
         )
         SELECT count(*)::int AS count${carriesMaterial ? `, pg_notify('${KEYS_RECORDED_CHANNEL}', '')` : ''} FROM k`,
        [
          keys.map((key) => key.keyId),
          slots.map((slot) => slot.group),
          slots.map((slot) => slot.ordinal),
          keys.map((key) => key.masterSaeId),
          sealed.map((s) => s?.ciphertext ?? null),
          sealed.map((s) => s?.wrappedKey ?? null),
          sealed.map((s) => s?.kekId ?? null),
          keys.map((key) => key.expiresAt),
          slaves.map((slave) => slave.keyId),
          slaves.map((slave) => slave.id),
          slaves.map((slave) => slave.kind),
          claim?.messageId ?? null,
          claim?.subject ?? null,
          sent.map((message) => message.subject),
          sent.map((message) => message.msgId),
          sent.map((message) => Buffer.from(message.payload)),
          groups.map((group) => group.id),
          groups.map((group) => group.linkId),
          groups.map((group) => group.reservationId),
          groups.map((group) => group.firstOffset),
          groups.map((group) => group.size),
          groups.map((group) => group.count),
          // Keys with material are a target's, whose blocks still hold their bits.
          carriesMaterial,
        ],
      );
      return inserted.count > 0;
    } catch (error) {
      const state = sqlState(error);
      if (state === NOT_NULL_VIOLATION && sqlColumn(error) === 'reservation_bits') {
        throw new LedgerConflictError(
          'unknown-reservation',
          'a key names a reservation that is not recorded for its link',
        );
      }
      // A message ID already in the outbox is no key's fault; the error goes up as it is.
      if (state === UNIQUE_VIOLATION && sqlConstraint(error) !== 'outbox_messages_msg_id_unique') {
        throw new LedgerConflictError('key-id-taken', 'a key with one of these key IDs exists already');
      }
      if (state === EXCLUSION_VIOLATION) {
        throw new LedgerConflictError('bits-already-used', 'a key overlaps bits another key already holds');
      }
      if (isImpossibleBits(error)) {
        throw new LedgerConflictError('impossible-bits', 'a key lies outside its reservation');
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
    const [row] = await rows<StoredColumns>(
      this.manager,
      `SELECT ${storedColumns('keys', 'k')}
       FROM keys k WHERE k.key_id = $1 AND k.material_ciphertext IS NOT NULL`,
      [keyId],
    );
    return row === undefined ? undefined : this.cipher.open('keys', storedOf('keys', keyId, row));
  }

  /**
   * Delivers keys to one slave: all of them or none, each slave entry at most once (see deliverable, claim and
   * settle, which the gateway uses to deliver many requests at once and to record only the answers that went
   * out). The keys count as delivered once this returns them. A claim lost to a concurrent delivery is
   * answered with the refusal the keys show once it is over.
   */
  async deliver(keyIds: readonly string[], slave: Slave): Promise<DeliveryResult> {
    const found = await this.deliverable(keyIds);
    for (const keyId of keyIds) {
      const refusal = deliveryRefusal(found.get(keyId), slave);
      if (refusal !== undefined) {
        return { ok: false, reason: refusal, keyId };
      }
    }
    const { delivered, refused, unreadable, claimedUntil } = await this.claim([
      keyIds.map((keyId) => ({ keyId, slave })),
    ]);
    // Claimed when the statement says until when (a key under a KEK version this keyring lacks is not).
    const held = keyIds.map((keyId) => ({ keyId, slave, claimedUntil: claimedUntil as string }));
    if (unreadable.size > 0) {
      delivered.forEach((material) => material.fill(0));
      if (claimedUntil !== undefined) await this.settle([], held);
      throw [...unreadable.values()][0];
    }
    if (claimedUntil !== undefined) await this.settle(held, []);
    if (refused.size > 0) {
      const now = await this.deliverable(keyIds);
      const lost = keyIds.find((keyId) => deliveryRefusal(now.get(keyId), slave) !== undefined) ?? keyIds[0]!;
      return { ok: false, reason: deliveryRefusal(now.get(lost), slave) ?? 'already-delivered', keyId: lost };
    }
    return { ok: true, keys: keyIds.map((keyId) => ({ keyId, material: delivered.get(keyId) as Buffer })) };
  }

  /**
   * The keys among `keyIds` with their slave entries, as they are now: what a delivery judges requests by
   * before it claims (see claim, which checks again under the entries' locks).
   */
  async deliverable(keyIds: readonly string[]): Promise<Map<string, DeliverableKey>> {
    const found = await rows<DeliveryRow>(
      this.manager,
      `SELECT k.key_id, k.link_id, k.master_sae_id, k.expires_at, k.expires_at <= now() AS expired,
         k.material_kek_id IS NOT NULL AS has_material, s.kind, s.slave_id, s.delivered_at,
         coalesce(s.claimed_until > now(), false) AS claimed
       FROM keys k JOIN key_slaves s ON s.key_id = k.key_id
       WHERE k.key_id = ANY ($1::uuid[])
       ORDER BY k.key_id, s.kind, s.slave_id`,
      [[...new Set(keyIds)]],
    );
    const keys = new Map<string, DeliverableKey & { slaves: DeliverableKey['slaves'][number][] }>();
    for (const row of found) {
      let key = keys.get(row.key_id);
      if (key === undefined) {
        key = {
          keyId: row.key_id,
          linkId: row.link_id,
          masterSaeId: row.master_sae_id,
          expiresAt: row.expires_at,
          expired: row.expired,
          hasMaterial: row.has_material,
          slaves: [],
        };
        keys.set(row.key_id, key);
      }
      key.slaves.push({
        kind: row.kind,
        id: row.slave_id,
        deliveredAt: row.delivered_at,
        claimed: row.claimed,
      });
    }
    return keys;
  }

  /**
   * Claims each request's entries for a delivery, all of a request or none of it, in one statement (one round
   * trip, no transaction around it): it locks the slave entries of every key claimed, in key order so that
   * concurrent claims cannot deadlock, and refuses a request when one of its entries is gone, delivered or
   * claimed (a concurrent delivery won it) or its key expired or holds no material. For the others it holds
   * the entries for `leaseMs` and answers each key's material (the caller zeroes it). The claims of different
   * requests must name different entries.
   *
   * A claim is not a delivery: the caller settles it once its answer went out, or did not, in the next claim
   * statement it runs (`settled`: no round trip or commit of their own for the answers of a busy gateway) or
   * alone (see settle). A settled `sent` entry is delivered, and a key whose every slave now has it loses its
   * material, with one `key-delivered` audit event per link; an `unsent` one is free again. An entry whose
   * claim is never settled (its gateway died) is free again once the claim lapses. An entry settled by the
   * statement is not claimed by it too, and an outcome whose claim is no longer the entry's (it lapsed and
   * another took the entry) is not recorded.
   *
   * Material is opened once the statement committed: a key whose sealed material does not open (the row
   * altered) is answered in `unreadable` with the error instead, so that only the requests naming it fail, not
   * every request of the claim. A request naming a key sealed under a KEK version this process's keyring lacks
   * (one not yet restarted with a rotated keyring, say) is left out of the statement's claims, its keys
   * answered in `unreadable` as missing their KEK: a process with the keyring can still deliver them.
   */
  async claim(
    requests: readonly (readonly DeliveryClaim[])[],
    settled: Settled = NOTHING_SETTLED,
    leaseMs = CLAIM_LEASE_MS,
  ): Promise<ClaimResult> {
    const claims = requests.flatMap((claims, request) => claims.map((claim) => ({ request, ...claim })));
    const outcomes = [...settled.sent, ...settled.unsent];
    if (claims.length === 0 && outcomes.length === 0) {
      return { delivered: new Map(), refused: new Set(), unreadable: new Map(), claimedUntil: undefined };
    }
    // Locking rows returns their latest committed version (READ COMMITTED), so `l` sees every delivery that
    // committed before the locks were granted, also those the statement's snapshot predates. The updates join
    // `l`, so that they run once it holds its locks (a statement's parts run in no set order, and an update
    // that locked one entry first could deadlock with another statement).
    const answered = await rows<
      { key_id: string | null; request: number | null; claimed_until: string | null } & StoredColumns
    >(
      this.manager,
      `WITH t AS (
         SELECT * FROM unnest($1::int[], $2::uuid[], $3::text[], $4::text[]) AS t (request, key_id, kind, slave_id)
       ), x AS (
         SELECT * FROM unnest($7::uuid[], $8::text[], $9::text[], $10::boolean[], $11::timestamptz[])
           AS x (key_id, kind, slave_id, sent, claimed_until)
       ), l AS MATERIALIZED (
         SELECT s.key_id, s.kind, s.slave_id, s.delivered_at, s.claimed_until FROM key_slaves s
         WHERE s.key_id = ANY ($2::uuid[] || $7::uuid[])
         ORDER BY s.key_id, s.kind, s.slave_id FOR UPDATE
       ), refused AS (
         SELECT DISTINCT t.request FROM t
         LEFT JOIN l ON l.key_id = t.key_id AND l.kind = t.kind AND l.slave_id = t.slave_id
         LEFT JOIN keys k ON k.key_id = t.key_id
         WHERE l.key_id IS NULL OR l.delivered_at IS NOT NULL OR l.claimed_until > now() OR k.key_id IS NULL
           OR k.expires_at <= now() OR k.material_kek_id IS NULL
           OR EXISTS (SELECT 1 FROM x WHERE x.key_id = t.key_id AND x.kind = t.kind AND x.slave_id = t.slave_id)
       ), unheld AS (
         SELECT DISTINCT t.request, k.key_id, k.material_kek_id FROM t JOIN keys k ON k.key_id = t.key_id
         WHERE NOT (k.material_kek_id = ANY ($5::int[]))
           AND NOT EXISTS (SELECT 1 FROM refused r WHERE r.request = t.request)
       ), ok AS (
         SELECT t.* FROM t WHERE NOT EXISTS (SELECT 1 FROM refused r WHERE r.request = t.request)
           AND NOT EXISTS (SELECT 1 FROM unheld u WHERE u.request = t.request)
       ), c AS (
         UPDATE key_slaves s SET claimed_until = now() + $6 * interval '1 millisecond' FROM ok
         WHERE s.key_id = ok.key_id AND s.kind = ok.kind AND s.slave_id = ok.slave_id
       ), matched AS (
         -- The outcomes of claims still the entries' own, found under l's locks.
         SELECT x.* FROM x JOIN l ON l.key_id = x.key_id AND l.kind = x.kind AND l.slave_id = x.slave_id
         WHERE l.delivered_at IS NULL AND l.claimed_until = x.claimed_until
       ), d AS (
         UPDATE key_slaves s SET delivered_at = CASE WHEN v.sent THEN now() END, claimed_until = NULL
         FROM matched v WHERE s.key_id = v.key_id AND s.kind = v.kind AND s.slave_id = v.slave_id
       ), delivers AS (
         SELECT key_id, kind, slave_id FROM matched WHERE sent
       ), m AS (
         -- Keys this statement delivers to their last undelivered entry, found by one grouping (nested NOT
         -- EXISTS over the CTEs scanned them once per row: seconds for one answer of 512 keys).
         UPDATE keys k SET material_ciphertext = NULL, material_wrapped_key = NULL, material_kek_id = NULL
         FROM (
           SELECT l.key_id FROM l
           LEFT JOIN delivers v ON v.key_id = l.key_id AND v.kind = l.kind AND v.slave_id = l.slave_id
           GROUP BY l.key_id
           HAVING bool_and(l.delivered_at IS NOT NULL OR v.key_id IS NOT NULL) AND bool_or(v.key_id IS NOT NULL)
         ) done
         WHERE k.key_id = done.key_id
       ), a AS (
         INSERT INTO audit_events (event, link_id, key_ids, sae_ids)
         SELECT 'key-delivered', k.link_id, array_agg(DISTINCT v.key_id), array_agg(DISTINCT v.slave_id)
         FROM delivers v JOIN keys k ON k.key_id = v.key_id
         GROUP BY k.link_id
       )
       SELECT k.key_id, NULL::int AS request, ${storedColumns('keys', 'k')},
         (now() + $6 * interval '1 millisecond')::text AS claimed_until
       FROM keys k WHERE k.key_id IN (SELECT key_id FROM ok)
       UNION ALL
       SELECT NULL, request, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL FROM refused
       UNION ALL
       SELECT key_id, request, NULL, NULL, material_kek_id, NULL, NULL, NULL, NULL, NULL FROM unheld`,
      [
        claims.map((claim) => claim.request),
        claims.map((claim) => claim.keyId),
        claims.map((claim) => claim.slave.kind),
        claims.map((claim) => claim.slave.id),
        this.cipher.kekIds,
        leaseMs,
        outcomes.map((claim) => claim.keyId),
        outcomes.map((claim) => claim.slave.kind),
        outcomes.map((claim) => claim.slave.id),
        outcomes.map((_, i) => i < settled.sent.length),
        outcomes.map((claim) => claim.claimedUntil),
      ],
    );
    const refused = new Set<number>();
    const delivered = new Map<string, Buffer>();
    const unreadable = new Map<string, unknown>();
    let claimedUntil: string | undefined;
    for (const row of answered) {
      if (row.key_id === null) {
        refused.add(row.request as number);
        continue;
      }
      if (row.request !== null) {
        const reason = `KEK version ${String(row.kek_id)} is not in the keyring`;
        unreadable.set(row.key_id, new MaterialIntegrityError('keys', row.key_id, reason, true));
        continue;
      }
      claimedUntil = row.claimed_until ?? undefined;
      try {
        delivered.set(row.key_id, this.cipher.open('keys', storedOf('keys', row.key_id, row)));
      } catch (error) {
        unreadable.set(row.key_id, error);
      }
    }
    return { delivered, refused, unreadable, claimedUntil };
  }

  /** Settles claims alone, in one statement: see claim. */
  async settle(sent: readonly HeldClaim[], unsent: readonly HeldClaim[]): Promise<void> {
    await this.claim([], { sent, unsent });
  }
}

/**
 * Why `slave` cannot take `key` now, or undefined when it can (its entry exists and is not yet delivered).
 */
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
  if (entry.claimed) {
    return 'in-delivery';
  }
  if (key.expired) {
    return 'expired';
  }
  if (!key.hasMaterial) {
    return 'no-material';
  }
  return undefined;
}

/** Keys of one size carved back to back from one reservation of one link, as a key_groups row holds them. */
interface KeyGroup {
  readonly id: string;
  readonly linkId: number;
  readonly reservationId: string;
  readonly firstOffset: number;
  readonly size: number;
  count: number;
}

/**
 * Splits keys, in the order given, into groups of keys that each follow the one before (same link, reservation
 * and size, next offset), and gives each key its group (1-based, as Postgres counts) and slot in it. A
 * gateway carves a batch's alike requests back to back, so a batch of one size is one group; keys that do
 * not follow one another each start a group of their own, which costs more but records the same.
 */
function groupKeys(keys: readonly NewKey[]): {
  groups: KeyGroup[];
  slots: { group: number; ordinal: number }[];
} {
  const groups: KeyGroup[] = [];
  const slots = keys.map((key) => {
    const last = groups.at(-1);
    if (
      last !== undefined &&
      last.linkId === key.linkId &&
      last.reservationId === key.reservationId &&
      last.size === key.size &&
      last.firstOffset + last.count * last.size === key.offset
    ) {
      return { group: groups.length, ordinal: last.count++ };
    }
    groups.push({
      id: randomUUID(),
      linkId: key.linkId,
      reservationId: key.reservationId,
      firstOffset: key.offset,
      size: key.size,
      count: 1,
    });
    return { group: groups.length, ordinal: 0 };
  });
  return { groups, slots };
}
