import { randomUUID } from 'node:crypto';

import {
  EnvelopeBadSignature,
  EnvelopeExpired,
  EnvelopeMalformed,
  EnvelopeMisaddressed,
  EnvelopeTampered,
  seal,
  type OpenOptions,
} from '@dqkd/blast';
import { ed25519 } from '@noble/curves/ed25519.js';
import { ml_kem768_x25519 } from '@noble/post-quantum/hybrid.js';

import {
  AssignmentMalformed,
  assignmentMessageId,
  assignmentSubject,
  decodeAssignment,
  encodeAssignment,
  openAssignment,
  sealAssignment,
  type Assignment,
} from './assignment';

const NOW = Date.UTC(2026, 0, 1);
const eastSigningKey = ed25519.utils.randomSecretKey();
const west = ml_kem768_x25519.keygen();
const atWest: OpenOptions = {
  self: 'kme-west',
  recipientKemSecret: west.secretKey,
  senderSigPublicKeys: new Map([['kme-east', ed25519.getPublicKey(eastSigningKey)]]),
  now: NOW,
};

const assignment: Assignment = {
  reservation: {
    id: randomUUID(),
    linkSource: 'kme-east',
    linkTarget: 'kme-west',
    bits: 768,
    segments: [
      { blockId: randomUUID(), start: 65024, end: 65536 },
      { blockId: randomUUID(), start: 0, end: 256 },
    ],
  },
  keys: [
    { keyId: randomUUID(), offset: 0, size: 512 },
    { keyId: randomUUID(), offset: 512, size: 256 },
  ],
  masterSaeId: 'sae-alice',
  slaves: [
    { kind: 'sae', id: 'sae-bob' },
    { kind: 'kme', id: 'kme-west' },
  ],
  expiresAt: new Date(NOW + 3_600_000),
};

const wire = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const wireOf = (a: Assignment) =>
  JSON.parse(new TextDecoder().decode(encodeAssignment(a))) as Record<string, unknown>;

describe('assignment encoding', () => {
  it('decodes what it encodes', () => {
    expect(decodeAssignment(encodeAssignment(assignment))).toEqual(assignment);
  });

  it('carries the issue time when there is one, and reads assignments without it', () => {
    const issued = { ...assignment, issuedAt: new Date(NOW) };
    expect(decodeAssignment(encodeAssignment(issued))).toEqual(issued);
    expect(wireOf(assignment)).not.toHaveProperty('i');
  });

  it('gives batches carved from one reservation at other offsets other message IDs', () => {
    const later = {
      ...assignment,
      keys: assignment.keys.map((key) => ({ ...key, offset: key.offset + 512 })),
    };
    expect(assignmentMessageId(later)).not.toBe(assignmentMessageId(assignment));
  });

  it('names its subject and message ID after the link and the reservation', () => {
    expect(assignmentSubject('kme-east', 'kme-west')).toBe('dqkd.kme-east.out.kme-west.assignment');
    expect(assignmentSubject('kme-east', 'kme-west', { prefix: 't1' })).toBe(
      't1.kme-east.out.kme-west.assignment',
    );
    expect(assignmentMessageId(assignment)).toBe(
      `assignment:${assignment.reservation.id}:${assignment.keys[0]!.offset}`,
    );
  });

  it.each([
    ['bytes that are not JSON', new TextEncoder().encode('{not json')],
    ['a JSON array', wire([1, 2])],
    ['an unknown version', wire({ ...wireOf(assignment), v: 2 })],
    [
      'a reservation ID that is not a UUID',
      wire({ ...wireOf(assignment), r: ['r1', 'a', 'b', 1, [[randomUUID(), 0, 1]]] }),
    ],
    ['a key size that is not an integer', wire({ ...wireOf(assignment), k: [[randomUUID(), 0, 1.5]] })],
    ['a slave of an unknown kind', wire({ ...wireOf(assignment), s: [['sat', 'x']] })],
    ['a deadline that is not an ISO instant', wire({ ...wireOf(assignment), x: 'tomorrow' })],
    ['an issue time that is not an ISO instant', wire({ ...wireOf(assignment), i: 17 })],
    ['no keys', wire({ ...wireOf(assignment), k: [] })],
  ])('refuses %s', (_case, bytes) => {
    expect(() => decodeAssignment(bytes)).toThrow(AssignmentMalformed);
  });

  it('refuses segments that do not hold the reservation bits', () => {
    const bad = { ...assignment, reservation: { ...assignment.reservation, bits: 769 } };
    expect(() => encodeAssignment(bad)).toThrow(AssignmentMalformed);
  });

  it('refuses keys outside the reservation or repeated', () => {
    const outside = { ...assignment, keys: [{ keyId: randomUUID(), offset: 700, size: 256 }] };
    expect(() => encodeAssignment(outside)).toThrow(AssignmentMalformed);
    const twice = {
      ...assignment,
      keys: [assignment.keys[0], { ...assignment.keys[1], keyId: assignment.keys[0].keyId }],
    };
    expect(() => encodeAssignment(twice)).toThrow(AssignmentMalformed);
  });

  // A target slices and seals each key's material before the ledger refuses overlapping keys: a few thousand
  // keys on one block, each all of it, made it hold hundreds of megabytes.
  it.each([
    ['on the same bits', [0, 256, 0, 256]],
    ['starting inside the key before', [0, 512, 256, 256]],
    ['out of the order they were carved in', [512, 256, 0, 512]],
  ])('refuses keys %s', (_case, [offset1, size1, offset2, size2]) => {
    const keys = [
      { keyId: randomUUID(), offset: offset1!, size: size1! },
      { keyId: randomUUID(), offset: offset2!, size: size2! },
    ];
    const bytes = wire({ ...wireOf(assignment), k: keys.map((key) => [key.keyId, key.offset, key.size]) });
    expect(() => decodeAssignment(bytes)).toThrow(/overlaps the key before/);
  });

  it.each([
    ['a size', 0, 252],
    ['an offset', 4, 256],
  ])('refuses %s that is not whole bytes', (_case, offset, size) => {
    const bytes = wire({ ...wireOf(assignment), k: [[randomUUID(), offset, size]] });
    expect(() => decodeAssignment(bytes)).toThrow(/start and end on a byte/);
  });

  it('takes keys with bits between them left out', () => {
    const keys = [
      { keyId: randomUUID(), offset: 0, size: 256 },
      { keyId: randomUUID(), offset: 512, size: 256 },
    ];
    expect(decodeAssignment(encodeAssignment({ ...assignment, keys })).keys).toEqual(keys);
  });
});

describe('sealed assignment', () => {
  const sealed = () => sealAssignment(assignment, eastSigningKey, west.publicKey);

  it('opens at its target with the same assignment', () => {
    const opened = openAssignment(sealed(), atWest);
    expect(opened.assignment).toEqual(assignment);
    expect(opened.envelopeId).toMatch(/^[0-9a-f]{64}$/);
  });

  it('carries no byte of the plaintext assignment in the clear', () => {
    const bytes = Buffer.from(sealed());
    expect(bytes.includes(Buffer.from('sae-alice'))).toBe(false);
    expect(bytes.includes(Buffer.from(assignment.keys[0].keyId))).toBe(false);
  });

  it('is refused when altered, mis-addressed or expired', () => {
    const altered = sealed();
    altered[altered.length - 100] ^= 1;
    expect(() => openAssignment(altered, atWest)).toThrow(EnvelopeBadSignature);
    expect(() => openAssignment(sealed(), { ...atWest, self: 'kme-north' })).toThrow(EnvelopeMisaddressed);
    expect(() => openAssignment(sealed(), { ...atWest, now: assignment.expiresAt.getTime() })).toThrow(
      EnvelopeExpired,
    );
  });

  it('is refused when the signed header names another reservation', () => {
    const header = {
      kind: 'assignment' as const,
      subjectId: randomUUID(),
      source: 'kme-east',
      target: 'kme-west',
      expiresAt: assignment.expiresAt.getTime(),
    };
    const bytes = seal(header, encodeAssignment(assignment), eastSigningKey, west.publicKey);
    expect(() => openAssignment(bytes, atWest)).toThrow(EnvelopeTampered);
  });

  it('is refused when its content is not an assignment', () => {
    const header = {
      kind: 'assignment' as const,
      subjectId: assignment.reservation.id,
      source: 'kme-east',
      target: 'kme-west',
      expiresAt: assignment.expiresAt.getTime(),
    };
    const bytes = seal(header, wire({ v: 1 }), eastSigningKey, west.publicKey);
    expect(() => openAssignment(bytes, atWest)).toThrow(EnvelopeMalformed);
  });
});
