/**
 * The longest life of a block the protocol allows (a key's longest TTL is etsi014's MAX_TTL_SECONDS). A
 * receiver holds a peer's deadlines to them: one further off, read on its own clock, is a peer that is
 * faulty or hostile, and taking it would keep block material or keys here past what DESIGN.md promises.
 */

/** A block's life from its creation at the source (the key-generator's DQKD_BLOCK_LIFETIME_MS at most). */
export const MAX_BLOCK_LIFETIME_MS = 3_600_000;

/**
 * How far ahead of this site's clock a peer's may run before its deadlines are refused: far beyond what
 * the clock-skew alert tolerates (2 s), so only a clock that is plainly wrong, or a lie, is refused.
 */
export const PEER_CLOCK_ALLOWANCE_MS = 300_000;

/** Whether `deadline` (UTC ms) lies further from `now` than `longest` allows, with a peer's clock allowance. */
export function beyondLongest(deadline: number, longest: number, now: number = Date.now()): boolean {
  return deadline > now + longest + PEER_CLOCK_ALLOWANCE_MS;
}
