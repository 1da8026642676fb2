import { segmentsText } from '../segments';
import type { KeyAssignment } from './assignment';

/**
 * How long the target holds a reservation's bits after its first assignment: longer than a source gateway
 * carves one lease (30 s), so that every later assignment of the lease finds them.
 */
export const RESERVATION_HOLD_MS = 60_000;
/**
 * Plaintext bytes held at most, the oldest reservations going first. A source retires a lease with bits left
 * whenever a request no longer fits (under enc_keys number=100 every few requests), and those reservations
 * would otherwise stay for the whole hold time.
 */
export const HELD_BYTES_MAX = 4 << 20;
/** Larger reservations (one large request's) are not held: their first assignment usually carves them whole. */
export const HELD_RESERVATION_BITS_MAX = 1 << 20;

type HeldReservation = KeyAssignment['reservation'];

interface Held {
  readonly reservation: HeldReservation;
  /** segmentsText of the reservation's segments, to compare an assignment's with. */
  readonly segments: string;
  readonly bits: Buffer;
  /** Bits of keys recorded from it so far: once they cover the reservation, nothing more can come. */
  carved: number;
  readonly timer: NodeJS.Timeout;
}

/**
 * Target side, the mirror of a source gateway's lease: the plaintext bits of the reservations whose keys are
 * still arriving, decrypted once from this site's blocks when the first assignment of a reservation is
 * applied, so that each later one is a single statement that never reads the blocks (a reservation's
 * assignments come one per enc_keys batch, a block is 32 KiB). Held in this process only, never past the
 * blocks' own deadline nor RESERVATION_HOLD_MS, at most HELD_BYTES_MAX in all, and zeroed when they go.
 * The ledger stays the truth: what is not held here is read from the blocks again.
 */
export class HeldReservations {
  /** In the order they were taken, so the first is the oldest. */
  private readonly held = new Map<string, Held>();
  private bytes = 0;

  constructor(
    private readonly holdMs = RESERVATION_HOLD_MS,
    private readonly maxBytes = HELD_BYTES_MAX,
  ) {}

  /** Whether a reservation of this size is held at all: if not, read only the bits an assignment needs. */
  takes(reservation: HeldReservation): boolean {
    return reservation.bits <= Math.min(HELD_RESERVATION_BITS_MAX, this.maxBytes * 8);
  }

  /** The bits of `reservation` when they are held for exactly its bits and segments. Copy what you need now. */
  bitsOf(reservation: HeldReservation): Buffer | undefined {
    const held = this.held.get(reservation.id);
    if (held === undefined) return undefined;
    const { bits, linkSource, linkTarget } = held.reservation;
    const same =
      bits === reservation.bits &&
      linkSource === reservation.linkSource &&
      linkTarget === reservation.linkTarget &&
      held.segments === segmentsText(reservation.segments);
    return same ? held.bits : undefined;
  }

  /**
   * Keeps `bits` (the whole reservation, in order) until `until` at the latest, and answers true; false when it
   * keeps nothing (held already, too large, or `until` has passed), and the caller still owns and zeroes them.
   * Makes room by dropping the oldest when HELD_BYTES_MAX would be passed.
   */
  hold(reservation: HeldReservation, bits: Buffer, until: number): boolean {
    const holdFor = Math.min(this.holdMs, until - Date.now());
    if (this.held.has(reservation.id) || holdFor <= 0 || !this.takes(reservation)) return false;
    for (const oldest of this.held.keys()) {
      if (this.bytes + bits.length <= this.maxBytes) break;
      this.drop(oldest);
    }
    const timer = setTimeout(() => this.drop(reservation.id), holdFor);
    // A timer of its own per reservation, so a site that stops issuing does not keep bits until the next one.
    timer.unref();
    this.held.set(reservation.id, {
      reservation,
      segments: segmentsText(reservation.segments),
      bits,
      carved: 0,
      timer,
    });
    this.bytes += bits.length;
    return true;
  }

  /** Counts keys recorded from a held reservation; the bits go once every bit of it is in a key. */
  carved(reservationId: string, bits: number): void {
    const held = this.held.get(reservationId);
    if (held === undefined) return;
    held.carved += bits;
    if (held.carved >= held.reservation.bits) this.drop(reservationId);
  }

  /** Plaintext bytes held now: what an operator sees of this cache (dqkd_held_reservation_bytes). */
  get heldBytes(): number {
    return this.bytes;
  }

  /** Zeroes and forgets everything held (at shutdown). */
  clear(): void {
    [...this.held.keys()].forEach((id) => this.drop(id));
  }

  private drop(reservationId: string): void {
    const held = this.held.get(reservationId);
    if (held === undefined) return;
    clearTimeout(held.timer);
    held.bits.fill(0);
    this.bytes -= held.bits.length;
    this.held.delete(reservationId);
  }
}
