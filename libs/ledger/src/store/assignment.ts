import { sliceBits } from '../bits';
import { LedgerConflictError } from '../errors';
import type { LedgerScope } from '../ledger';
import { segmentsAt, segmentsText } from '../segments';
import type { HeldReservations } from './held-reservations';
import { storedColumns, storedOf, type StoredColumns } from './material-binding';
import { rows } from './sql';
import { BitSegment, MessageClaim, NewKey, Slave } from './types';

/**
 * What a source KME tells the target about one enc_keys request: the bits it reserved on the link, the keys
 * carved from them and who may fetch them. It never holds material; the target reads that from its own copy
 * of the blocks.
 */
export interface KeyAssignment {
  readonly reservation: {
    readonly id: string;
    readonly linkSource: string;
    readonly linkTarget: string;
    readonly bits: number;
    readonly segments: readonly BitSegment[];
  };
  /** Each key is `size` bits at `offset` of the reservation's run of segments. */
  readonly keys: readonly { readonly keyId: string; readonly offset: number; readonly size: number }[];
  readonly masterSaeId: string;
  readonly slaves: readonly Slave[];
  readonly expiresAt: Date;
}

/** Whether this call recorded the keys, or found them recorded by an earlier delivery of the same assignment. */
export type ApplyAssignmentResult = { readonly applied: true } | { readonly applied: false };

/**
 * Target side: records the reservation and its keys, each with its material sliced from this site's copy of
 * the blocks, so that slaves can fetch them. All or nothing: the keys go in one statement (see
 * KeyStore.record), and a reservation recorded first on its own stays recorded for a retry. Applying the
 * same assignment again records nothing; with `claim`, neither does a second delivery of that message,
 * which the same statement records as processed. An assignment whose blocks are not held here, or that
 * overlaps bits already used, is refused with a LedgerConflictError.
 *
 * With `held`, the reservation's bits are kept there after its first assignment, and a later assignment of
 * it is that one statement alone (see HeldReservations).
 */
export async function applyAssignment(
  scope: LedgerScope,
  assignment: KeyAssignment,
  claim?: MessageClaim,
  held?: HeldReservations,
): Promise<ApplyAssignmentResult> {
  const { reservation } = assignment;
  if (assignment.keys.length === 0) {
    throw new RangeError(`assignment of reservation ${reservation.id} carries no key`);
  }
  const linkId = await scope.links.idOf(reservation.linkSource, reservation.linkTarget);
  if (linkId === undefined) {
    throw new LedgerConflictError(
      'segments-not-on-link',
      `reservation ${reservation.id} is for link ${reservation.linkSource} → ${reservation.linkTarget}, unknown here`,
    );
  }
  const carving = assignment.keys.reduce((sum, key) => sum + key.size, 0);
  const heldBits = held?.bitsOf(reservation);
  if (held !== undefined && heldBits !== undefined) {
    try {
      const result = await recordKeys(scope, assignment, linkId, heldBits, 0, claim);
      if (result.applied) held.carved(reservation.id, carving);
      return result;
    } catch (error) {
      // The same keys under another message ID (their key IDs or their group's bits taken, whichever insert
      // Postgres ran first), or a reservation reaped meanwhile: the probe below tells.
      if (!(error instanceof LedgerConflictError)) throw error;
    }
  }
  // The whole reservation is read when it will be held for later assignments, else only the bits these keys
  // lie on (also when these keys are all of it: nothing of it is left to come).
  const holding = held?.takes(reservation) === true && carving < reservation.bits ? held : undefined;
  const [first, end] =
    holding === undefined
      ? [
          Math.min(...assignment.keys.map((key) => key.offset)),
          Math.max(...assignment.keys.map((key) => key.offset + key.size)),
        ]
      : [0, reservation.bits];
  const spanned = segmentsAt(reservation.segments, first, end - first);
  // One round trip for the three questions (message processed? reservation recorded, and on which bits? keys
  // there?) and the sealed blocks the keys lie on (one row per block that still has material, the answers
  // repeated on each); the reservation is recorded once, with its first batch.
  const probe = await rows<
    {
      processed: boolean;
      /** The recorded reservation's bit ranges, as segmentsText writes segments; null when not recorded. */
      recorded: string | null;
      existing: number;
      id: string | null;
      expires_at: Date | null;
    } & StoredColumns
  >(
    scope.manager,
    `SELECT p.processed, p.recorded, p.existing, b.id, b.expires_at, ${storedColumns('blocks', 'b')}
     FROM (SELECT EXISTS (SELECT 1 FROM processed_messages
                          WHERE message_id = $3::text AND subject = $5::text) AS processed,
                  CASE WHEN EXISTS (SELECT 1 FROM reservations WHERE id = $1) THEN coalesce(
                    (SELECT string_agg(g.block_id || ' ' || lower(g.bits) || ' ' || upper(g.bits), ' '
                       ORDER BY g.ordinal) FROM bit_ranges g WHERE g.reservation_id = $1), '') END AS recorded,
                  (SELECT count(*)::int FROM keys
                   WHERE key_id = ANY ($2::uuid[]) AND link_id = $6) AS existing) AS p
     LEFT JOIN blocks b ON b.id = ANY ($4::uuid[]) AND b.material_ciphertext IS NOT NULL`,
    [
      reservation.id,
      assignment.keys.map((key) => key.keyId),
      claim?.messageId ?? null,
      [...new Set(spanned.map((segment) => segment.blockId))],
      claim?.subject ?? null,
      linkId,
    ],
  );
  const { processed, recorded, existing } = probe[0]!;
  if (processed || existing === assignment.keys.length) {
    // This message, or the same assignment under another message ID, was applied before. Keys of another link
    // under these IDs do not count: recording then fails as key-id-taken, which is reported.
    return { applied: false };
  }
  if (recorded !== null && recorded !== segmentsText(reservation.segments)) {
    // Only a faulty source names a recorded reservation with other bits; they may be another reservation's.
    throw new LedgerConflictError(
      'segments-not-on-link',
      `reservation ${reservation.id} lies on other bits here than the assignment says`,
    );
  }
  if (recorded === null) {
    await scope.reservations.record({
      id: reservation.id,
      linkId,
      bits: reservation.bits,
      segments: reservation.segments,
    });
  }
  const sealed = new Map(
    probe.flatMap((row) => (row.id === null ? [] : [[row.id, storedOf('blocks', row.id, row)] as const])),
  );
  // One decryption of the bits the keys span, sliced per key, rather than one decryption of each block per key.
  const run = scope.blocks.bitsOf(spanned, sealed);
  if (run === undefined) {
    throw new LedgerConflictError(
      'segments-not-on-link',
      `reservation ${reservation.id} lies on blocks that hold no material here`,
    );
  }
  // Held no longer than the blocks the bits came from are carvable here.
  const kept = holding?.hold(reservation, run, Math.min(...probe.map((row) => row.expires_at!.getTime())));
  try {
    const result = await recordKeys(scope, assignment, linkId, run, first, claim);
    if (result.applied) holding?.carved(reservation.id, carving);
    return result;
  } finally {
    if (kept !== true) run.fill(0);
  }
}

/** Records the assignment's keys with material sliced from `bits`, which hold the reservation from `first`. */
async function recordKeys(
  scope: LedgerScope,
  assignment: KeyAssignment,
  linkId: number,
  bits: Buffer,
  first: number,
  claim: MessageClaim | undefined,
): Promise<ApplyAssignmentResult> {
  const keys: NewKey[] = assignment.keys.map((key) => ({
    keyId: key.keyId,
    linkId,
    masterSaeId: assignment.masterSaeId,
    size: key.size,
    reservationId: assignment.reservation.id,
    offset: key.offset,
    expiresAt: assignment.expiresAt,
    slaves: assignment.slaves,
    material: sliceBits(bits, key.offset - first, key.size),
  }));
  try {
    return { applied: await scope.keys.record(keys, { claim }) };
  } finally {
    keys.forEach((key) => key.material?.fill(0));
  }
}
