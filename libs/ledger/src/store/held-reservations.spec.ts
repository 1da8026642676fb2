import { randomBytes, randomUUID } from 'node:crypto';

import { HELD_RESERVATION_BITS_MAX, HeldReservations } from './held-reservations';

function reservation(bits = 512) {
  const blockId = randomUUID();
  return {
    id: randomUUID(),
    linkSource: 'kme-east',
    linkTarget: 'kme-west',
    bits,
    segments: [{ blockId, start: 0, end: bits }],
  };
}

describe('HeldReservations', () => {
  let held: HeldReservations;

  beforeEach(() => {
    jest.useFakeTimers();
    held = new HeldReservations(60_000);
  });

  afterEach(() => {
    held.clear();
    jest.useRealTimers();
  });

  it('answers the bits only for the same reservation, bits and segments', () => {
    const one = reservation();
    const bits = randomBytes(64);
    expect(held.hold(one, bits, Date.now() + 120_000)).toBe(true);
    expect(held.bitsOf(one)).toBe(bits);
    expect(held.bitsOf({ ...one, bits: 256 })).toBeUndefined();
    expect(held.bitsOf({ ...one, linkSource: 'kme-north' })).toBeUndefined();
    expect(held.bitsOf({ ...one, segments: [{ ...one.segments[0]!, start: 8 }] })).toBeUndefined();
    expect(held.bitsOf(reservation())).toBeUndefined();
  });

  it('keeps the first copy and leaves a second to its caller', () => {
    const one = reservation();
    const first = randomBytes(64);
    const second = randomBytes(64);
    const copy = Buffer.from(second);
    held.hold(one, first, Date.now() + 120_000);
    expect(held.hold(one, second, Date.now() + 120_000)).toBe(false);
    expect(held.bitsOf(one)).toBe(first);
    expect(second).toEqual(copy);
  });

  it('zeroes and forgets the bits once keys cover the whole reservation', () => {
    const one = reservation(512);
    const bits = randomBytes(64);
    held.hold(one, bits, Date.now() + 120_000);
    held.carved(one.id, 256);
    expect(held.bitsOf(one)).toBe(bits);
    held.carved(one.id, 256);
    expect(held.bitsOf(one)).toBeUndefined();
    expect(bits).toEqual(Buffer.alloc(64));
    expect(held.heldBytes).toBe(0);
  });

  it('zeroes the bits after the hold time, or at the deadline when that comes first', () => {
    const long = reservation();
    const short = reservation();
    const longBits = randomBytes(64);
    const shortBits = randomBytes(64);
    held.hold(long, longBits, Date.now() + 120_000);
    held.hold(short, shortBits, Date.now() + 10_000);
    jest.advanceTimersByTime(10_000);
    expect(held.bitsOf(short)).toBeUndefined();
    expect(shortBits).toEqual(Buffer.alloc(64));
    expect(held.bitsOf(long)).toBe(longBits);
    jest.advanceTimersByTime(50_000);
    expect(held.bitsOf(long)).toBeUndefined();
    expect(longBits).toEqual(Buffer.alloc(64));
  });

  it('holds nothing whose deadline has passed', () => {
    const one = reservation();
    expect(held.hold(one, randomBytes(64), Date.now())).toBe(false);
    expect(held.heldBytes).toBe(0);
  });

  it('zeroes everything on clear', () => {
    const bits = [randomBytes(64), randomBytes(64)];
    bits.forEach((each) => held.hold(reservation(), each, Date.now() + 120_000));
    held.clear();
    expect(held.heldBytes).toBe(0);
    bits.forEach((each) => expect(each).toEqual(Buffer.alloc(64)));
  });

  it('drops the oldest to stay within its byte limit, and takes no reservation larger than the limit allows', () => {
    const small = new HeldReservations(60_000, 128);
    try {
      const [a, b, c] = [reservation(), reservation(), reservation()];
      const [aBits, bBits, cBits] = [randomBytes(64), randomBytes(64), randomBytes(64)];
      small.hold(a, aBits, Date.now() + 120_000);
      small.hold(b, bBits, Date.now() + 120_000);
      small.hold(c, cBits, Date.now() + 120_000);
      expect(small.bitsOf(a)).toBeUndefined();
      expect(aBits).toEqual(Buffer.alloc(64));
      expect(small.bitsOf(b)).toBe(bBits);
      expect(small.bitsOf(c)).toBe(cBits);
      expect(small.heldBytes).toBe(128);
      expect(small.takes(reservation(2048))).toBe(false);
      expect(small.hold(reservation(2048), randomBytes(256), Date.now() + 120_000)).toBe(false);
      expect(held.takes(reservation(HELD_RESERVATION_BITS_MAX))).toBe(true);
      expect(held.takes(reservation(HELD_RESERVATION_BITS_MAX + 8))).toBe(false);
    } finally {
      small.clear();
    }
  });
});
