/** Bit `i` of a buffer is bit `7 - i % 8` of byte `i / 8`: the first bit is the most significant one. */
export function sliceBits(source: Buffer, start: number, length: number): Buffer {
  if (!Number.isInteger(start) || !Number.isInteger(length) || start < 0 || length < 0) {
    throw new RangeError('bit offsets must be non-negative integers');
  }
  if (start + length > source.length * 8) {
    throw new RangeError(`bits ${start}..${start + length} lie outside a ${source.length * 8}-bit buffer`);
  }
  if (start % 8 === 0 && length % 8 === 0) {
    return Buffer.from(source.subarray(start / 8, (start + length) / 8));
  }
  const out = Buffer.alloc(Math.ceil(length / 8));
  for (let i = 0; i < length; i += 1) {
    const from = start + i;
    const bit = (source[from >> 3] >> (7 - (from & 7))) & 1;
    out[i >> 3] |= bit << (7 - (i & 7));
  }
  return out;
}

/** Concatenates bit strings of arbitrary lengths, most significant bit first. */
export function concatBits(parts: readonly { bits: Buffer; length: number }[]): Buffer {
  const total = parts.reduce((sum, part) => sum + part.length, 0);
  if (parts.every((part) => part.length % 8 === 0)) {
    return Buffer.concat(parts.map((part) => part.bits.subarray(0, part.length / 8)));
  }
  const out = Buffer.alloc(Math.ceil(total / 8));
  let at = 0;
  for (const part of parts) {
    for (let i = 0; i < part.length; i += 1, at += 1) {
      const bit = (part.bits[i >> 3] >> (7 - (i & 7))) & 1;
      out[at >> 3] |= bit << (7 - (at & 7));
    }
  }
  return out;
}

/** Clears bits [start, start + length) of a buffer in place, most significant bit first. */
export function zeroBits(target: Buffer, start: number, length: number): void {
  if (!Number.isInteger(start) || !Number.isInteger(length) || start < 0 || length < 0) {
    throw new RangeError('bit offsets must be non-negative integers');
  }
  if (start + length > target.length * 8) {
    throw new RangeError(`bits ${start}..${start + length} lie outside a ${target.length * 8}-bit buffer`);
  }
  const end = start + length;
  let at = start;
  for (; at < end && at & 7; at += 1) target[at >> 3] &= ~(0x80 >> (at & 7));
  const wholeEnd = end - (end & 7);
  if (at < wholeEnd) {
    target.fill(0, at >> 3, wholeEnd >> 3);
    at = wholeEnd;
  }
  for (; at < end; at += 1) target[at >> 3] &= ~(0x80 >> (at & 7));
}
