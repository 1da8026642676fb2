import {
  EnvelopeMalformed,
  EnvelopeTampered,
  open,
  seal,
  type Encapsulation,
  type OpenOptions,
} from '@dqkd/blast';

import { siteNaming } from '../naming';

/** Bits [start, end) of one block. */
export interface AssignmentSegment {
  readonly blockId: string;
  readonly start: number;
  readonly end: number;
}

export interface AssignmentSlave {
  readonly kind: 'sae' | 'kme';
  readonly id: string;
}

/**
 * One enc_keys request as the source KME tells it to the target: the bits it reserved on the link, the keys
 * carved from them (by offset into the reservation's run of segments), the master and the slaves, and the
 * decode deadline. Never any key material.
 */
export interface Assignment {
  readonly reservation: {
    readonly id: string;
    readonly linkSource: string;
    readonly linkTarget: string;
    readonly bits: number;
    readonly segments: readonly AssignmentSegment[];
  };
  readonly keys: readonly { readonly keyId: string; readonly offset: number; readonly size: number }[];
  readonly masterSaeId: string;
  readonly slaves: readonly AssignmentSlave[];
  readonly expiresAt: Date;
  /** When the source carved the keys, just before answering the master: where replication lag starts. */
  readonly issuedAt?: Date;
}

export const ASSIGNMENT_VERSION = 1;

/** Bytes that are not a well-formed assignment of a version this code reads. Never carries material. */
export class AssignmentMalformed extends Error {
  override readonly name = 'AssignmentMalformed';
  readonly code = 'assignment-malformed';
}

export interface OpenedAssignment {
  /** Identity of these envelope bytes: a redelivery has the same one. */
  readonly envelopeId: string;
  readonly assignment: Assignment;
}

/** The subject an assignment from `source` to `target` is published on. */
export function assignmentSubject(source: string, target: string, options: { prefix?: string } = {}): string {
  return siteNaming(source, options).subject('out', target, 'assignment');
}

/**
 * One message per batch of keys carved from a reservation (a gateway carves a reservation in several
 * batches, at disjoint offsets): a second publish of it within the duplicate window is dropped by the
 * broker, and the target's inbox applies it once.
 */
export function assignmentMessageId(assignment: Assignment): string {
  return `assignment:${assignment.reservation.id}:${assignment.keys[0]?.offset ?? 0}`;
}

/**
 * Wire form, JSON of version 1 with positional tuples so that a request of a thousand keys stays small:
 * `{ v, r: [id, source, target, bits, [[blockId, start, end]…]], k: [[keyId, offset, size]…], m, s: [[kind, id]…], x, i? }`.
 */
export function encodeAssignment(assignment: Assignment): Uint8Array {
  check(assignment);
  const { reservation } = assignment;
  const wire = {
    v: ASSIGNMENT_VERSION,
    r: [
      reservation.id,
      reservation.linkSource,
      reservation.linkTarget,
      reservation.bits,
      reservation.segments.map((segment) => [segment.blockId, segment.start, segment.end]),
    ],
    k: assignment.keys.map((key) => [key.keyId, key.offset, key.size]),
    m: assignment.masterSaeId,
    s: assignment.slaves.map((slave) => [slave.kind, slave.id]),
    x: assignment.expiresAt.toISOString(),
    ...(assignment.issuedAt !== undefined && { i: assignment.issuedAt.toISOString() }),
  };
  return new TextEncoder().encode(JSON.stringify(wire));
}

/** Reads an encoded assignment; anything malformed or inconsistent is refused with AssignmentMalformed. */
export function decodeAssignment(bytes: Uint8Array): Assignment {
  let wire: unknown;
  try {
    wire = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new AssignmentMalformed('assignment is not UTF-8 JSON');
  }
  const top = record(wire, 'assignment');
  if (top['v'] !== ASSIGNMENT_VERSION) throw new AssignmentMalformed(`unsupported assignment version`);
  const [id, linkSource, linkTarget, bits, segments] = tuple(top['r'], 5, 'r');
  const assignment: Assignment = {
    reservation: {
      id: uuid(id, 'r.id'),
      linkSource: text(linkSource, 'r.source'),
      linkTarget: text(linkTarget, 'r.target'),
      bits: count(bits, 'r.bits'),
      segments: list(segments, 'r.segments').map((entry, i) => {
        const [blockId, start, end] = tuple(entry, 3, `r.segments[${i}]`);
        return {
          blockId: uuid(blockId, `r.segments[${i}].blockId`),
          start: count(start, `r.segments[${i}].start`),
          end: count(end, `r.segments[${i}].end`),
        };
      }),
    },
    keys: list(top['k'], 'k').map((entry, i) => {
      const [keyId, offset, size] = tuple(entry, 3, `k[${i}]`);
      return {
        keyId: uuid(keyId, `k[${i}].keyId`),
        offset: count(offset, `k[${i}].offset`),
        size: count(size, `k[${i}].size`),
      };
    }),
    masterSaeId: text(top['m'], 'm'),
    slaves: list(top['s'], 's').map((entry, i) => {
      const [kind, slaveId] = tuple(entry, 2, `s[${i}]`);
      if (kind !== 'sae' && kind !== 'kme') throw new AssignmentMalformed(`s[${i}].kind must be sae or kme`);
      return { kind, id: text(slaveId, `s[${i}].id`) };
    }),
    expiresAt: instant(top['x'], 'x'),
    ...(top['i'] !== undefined && { issuedAt: instant(top['i'], 'i') }),
  };
  check(assignment);
  return assignment;
}

/**
 * Seals an assignment from its link's source to its target (kind `assignment`, subject = reservation ID),
 * bound to the decode deadline: after it, the envelope is refused, as the keys are no longer decodable anyway.
 * `recipient` is the target's KEM public key, or an encapsulation to it that the assignments of one lease share.
 */
export function sealAssignment(
  assignment: Assignment,
  senderSigningKey: Uint8Array,
  recipient: Uint8Array | Encapsulation,
): Uint8Array {
  const header = {
    kind: 'assignment' as const,
    subjectId: assignment.reservation.id,
    source: assignment.reservation.linkSource,
    target: assignment.reservation.linkTarget,
    expiresAt: assignment.expiresAt.getTime(),
  };
  return seal(header, encodeAssignment(assignment), senderSigningKey, recipient);
}

/**
 * Opens (signature, addressee, expiry, then decryption; see blast's `open`) and decodes an assignment, and
 * refuses it unless the signed header and the sealed assignment agree on kind, reservation, link and deadline.
 */
export function openAssignment(bytes: Uint8Array, options: OpenOptions): OpenedAssignment {
  const { envelopeId, header, plaintext } = open(bytes, options);
  if (header.kind !== 'assignment') throw new EnvelopeMalformed(`expected assignment, got ${header.kind}`);
  let assignment: Assignment;
  try {
    assignment = decodeAssignment(plaintext);
  } catch (error) {
    throw new EnvelopeMalformed('sealed assignment does not decode', { cause: error });
  }
  const agrees =
    assignment.reservation.id === header.subjectId &&
    assignment.reservation.linkSource === header.source &&
    assignment.reservation.linkTarget === header.target &&
    assignment.expiresAt.getTime() === header.expiresAt;
  if (!agrees) throw new EnvelopeTampered('sealed assignment does not match its envelope header');
  return { envelopeId, assignment };
}

// RFC 4122 textual form, lower case as the ledger stores it.
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Rules an assignment obeys beyond its shape: its segments hold exactly its bits and its keys lie within them. */
function check(assignment: Assignment): void {
  const { reservation, keys, slaves } = assignment;
  if (!UUID.test(reservation.id)) throw new AssignmentMalformed('reservation ID must be a lower-case UUID');
  if (reservation.segments.length === 0) throw new AssignmentMalformed('reservation has no segments');
  let total = 0;
  for (const segment of reservation.segments) {
    if (!UUID.test(segment.blockId)) throw new AssignmentMalformed('block ID must be a lower-case UUID');
    if (!(Number.isSafeInteger(segment.start) && segment.start >= 0 && segment.end > segment.start)) {
      throw new AssignmentMalformed('a segment must be a non-empty range of bits');
    }
    total += segment.end - segment.start;
  }
  if (total !== reservation.bits) throw new AssignmentMalformed('segments do not hold the reservation bits');
  if (keys.length === 0) throw new AssignmentMalformed('assignment has no keys');
  const keyIds = new Set<string>();
  // Where the key before ends: keys come in the order they were carved, each after the one before. Keys that
  // overlap would be refused by the ledger only after the target sliced and sealed each one's material, so
  // a few hundred kilobytes of keys on one block could make it hold gigabytes.
  let carvedTo = 0;
  for (const key of keys) {
    if (!UUID.test(key.keyId)) throw new AssignmentMalformed('key ID must be a lower-case UUID');
    if (keyIds.has(key.keyId)) throw new AssignmentMalformed('a key ID is repeated');
    keyIds.add(key.keyId);
    if (!(key.size > 0 && key.offset >= 0 && key.offset + key.size <= reservation.bits)) {
      throw new AssignmentMalformed('a key lies outside its reservation');
    }
    // Gateways serve whole bytes only (ETSI GS QKD 014 §6.2 lets a KME) and carve from the reservation's
    // start, so every key starts on a byte; the target's slicing then never goes bit by bit.
    if (key.size % 8 !== 0 || key.offset % 8 !== 0) {
      throw new AssignmentMalformed('a key does not start and end on a byte');
    }
    if (key.offset < carvedTo) throw new AssignmentMalformed('a key overlaps the key before it');
    carvedTo = key.offset + key.size;
  }
  if (slaves.length === 0) throw new AssignmentMalformed('assignment has no slaves');
  if (Number.isNaN(assignment.expiresAt.getTime())) throw new AssignmentMalformed('deadline is not a date');
}

function record(value: unknown, name: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new AssignmentMalformed(`${name} must be an object`);
  }
  return value as Record<string, unknown>;
}

function list(value: unknown, name: string): unknown[] {
  if (!Array.isArray(value)) throw new AssignmentMalformed(`${name} must be an array`);
  return value;
}

function tuple(value: unknown, length: number, name: string): unknown[] {
  const items = list(value, name);
  if (items.length !== length) throw new AssignmentMalformed(`${name} must have ${length} items`);
  return items;
}

function text(value: unknown, name: string): string {
  if (typeof value !== 'string' || value === '' || value.length > 256) {
    throw new AssignmentMalformed(`${name} must be a non-empty string of at most 256 characters`);
  }
  return value;
}

function uuid(value: unknown, name: string): string {
  if (typeof value !== 'string' || !UUID.test(value)) throw new AssignmentMalformed(`${name} must be a UUID`);
  return value;
}

function count(value: unknown, name: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < 0) {
    throw new AssignmentMalformed(`${name} must be a non-negative integer`);
  }
  return value as number;
}

function instant(value: unknown, name: string): Date {
  // Only the form toISOString writes, so one deadline has one spelling.
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(value)) {
    throw new AssignmentMalformed(`${name} must be an ISO 8601 UTC instant`);
  }
  const date = new Date(value);
  if (Number.isNaN(date.getTime()) || date.toISOString() !== value) {
    throw new AssignmentMalformed(`${name} must be a valid instant`);
  }
  return date;
}
