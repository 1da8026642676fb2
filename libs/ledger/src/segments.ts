import { BitSegment } from './store/types';

/**
 * The segments holding bits [offset, offset + size) of a run of segments taken in order: how a key carved at
 * `offset` of a reservation maps back onto blocks.
 */
export function segmentsAt(run: readonly BitSegment[], offset: number, size: number): BitSegment[] {
  if (!Number.isInteger(offset) || !Number.isInteger(size) || offset < 0 || size <= 0) {
    throw new RangeError('offset and size must be integers, offset ≥ 0 and size > 0');
  }
  const picked: BitSegment[] = [];
  let skip = offset;
  let want = size;
  for (const segment of run) {
    const length = segment.end - segment.start;
    if (skip >= length) {
      skip -= length;
      continue;
    }
    const take = Math.min(length - skip, want);
    picked.push({ blockId: segment.blockId, start: segment.start + skip, end: segment.start + skip + take });
    skip = 0;
    want -= take;
    if (want === 0) {
      return picked;
    }
  }
  throw new RangeError(`bits ${offset}..${offset + size} lie outside a run of ${offset + size - want} bits`);
}

/**
 * A run of segments as one string, equal for equal runs: how the target compares an assignment's segments
 * with those it holds or recorded (applyAssignment's probe writes bit_ranges the same way).
 */
export function segmentsText(run: readonly BitSegment[]): string {
  return run.map((segment) => `${segment.blockId.toLowerCase()} ${segment.start} ${segment.end}`).join(' ');
}
