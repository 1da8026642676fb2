import { combine } from './combine';
import { SampleMismatch } from './errors';

describe('combine', () => {
  it('XORs the samples byte by byte', () => {
    const combined = combine([
      Uint8Array.of(0b1100, 0xff),
      Uint8Array.of(0b1010, 0x0f),
      Uint8Array.of(0b0001, 0xf0),
    ]);
    expect([...combined]).toEqual([0b0111, 0x00]);
  });

  it('is as unpredictable as its one unknown sample: a known sample XOR-ed twice cancels', () => {
    const secret = Uint8Array.of(1, 2, 3);
    const known = Uint8Array.of(9, 9, 9);
    expect([...combine([combine([secret, known]), known])]).toEqual([1, 2, 3]);
  });

  it('leaves its inputs untouched', () => {
    const first = Uint8Array.of(1, 2);
    combine([first, Uint8Array.of(3, 4)]);
    expect([...first]).toEqual([1, 2]);
  });

  it('refuses fewer than two samples', () => {
    expect(() => combine([Uint8Array.of(1)])).toThrow(SampleMismatch);
    expect(() => combine([])).toThrow(SampleMismatch);
  });

  it('refuses samples of different lengths', () => {
    expect(() => combine([Uint8Array.of(1, 2), Uint8Array.of(1)])).toThrow(SampleMismatch);
  });
});
