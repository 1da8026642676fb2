import { concatBits, sliceBits, zeroBits } from './bits';

describe('sliceBits', () => {
  const source = Buffer.from([0b10110011, 0b01011100, 0xff]);

  it('copies whole bytes when the range is byte-aligned', () => {
    const slice = sliceBits(source, 8, 16);
    expect(slice).toEqual(Buffer.from([0b01011100, 0xff]));
    slice[0] = 0;
    expect(source[1]).toBe(0b01011100);
  });

  it('takes bits most significant first across a byte boundary', () => {
    expect(sliceBits(source, 6, 4)).toEqual(Buffer.from([0b11010000]));
    expect(sliceBits(source, 3, 9)).toEqual(Buffer.from([0b10011010, 0b10000000]));
  });

  it('refuses ranges outside the buffer or with negative offsets', () => {
    expect(() => sliceBits(source, 20, 5)).toThrow(RangeError);
    expect(() => sliceBits(source, -1, 2)).toThrow(RangeError);
  });
});

describe('concatBits', () => {
  it('joins byte-aligned parts as bytes', () => {
    expect(
      concatBits([
        { bits: Buffer.from([1, 2]), length: 8 },
        { bits: Buffer.from([3]), length: 8 },
      ]),
    ).toEqual(Buffer.from([1, 3]));
  });

  it('packs unaligned parts back to back', () => {
    const joined = concatBits([
      { bits: Buffer.from([0b10100000]), length: 3 },
      { bits: Buffer.from([0b11110000, 0b10000000]), length: 9 },
    ]);
    expect(joined).toEqual(Buffer.from([0b10111110, 0b00010000]));
  });

  it('inverts sliceBits over adjacent ranges', () => {
    const source = Buffer.from([0x5a, 0xc3, 0x99]);
    const parts = [
      { bits: sliceBits(source, 0, 5), length: 5 },
      { bits: sliceBits(source, 5, 13), length: 13 },
      { bits: sliceBits(source, 18, 6), length: 6 },
    ];
    expect(concatBits(parts)).toEqual(source);
  });
});

describe('zeroBits', () => {
  it('clears exactly the bits of the range, whatever its alignment', () => {
    for (let start = 0; start < 24; start += 1) {
      for (let length = 0; start + length <= 24; length += 1) {
        const target = Buffer.from([0xff, 0xff, 0xff]);
        zeroBits(target, start, length);
        const bits = [...target].map((byte) => byte.toString(2).padStart(8, '0')).join('');
        expect(bits).toBe('1'.repeat(start) + '0'.repeat(length) + '1'.repeat(24 - start - length));
      }
    }
  });

  it('refuses ranges outside the buffer', () => {
    expect(() => zeroBits(Buffer.alloc(2), 10, 7)).toThrow(RangeError);
  });
});
