import { segmentsAt } from './segments';

describe('segmentsAt', () => {
  const run = [
    { blockId: 'a', start: 100, end: 164 },
    { blockId: 'b', start: 0, end: 32 },
    { blockId: 'c', start: 8, end: 16 },
  ];

  it('maps a key inside one segment onto its block offsets', () => {
    expect(segmentsAt(run, 8, 16)).toEqual([{ blockId: 'a', start: 108, end: 124 }]);
  });

  it('splits a key that spans blocks, in order', () => {
    expect(segmentsAt(run, 56, 48)).toEqual([
      { blockId: 'a', start: 156, end: 164 },
      { blockId: 'b', start: 0, end: 32 },
      { blockId: 'c', start: 8, end: 16 },
    ]);
  });

  it('refuses bits beyond the end of the run', () => {
    expect(() => segmentsAt(run, 96, 16)).toThrow(/outside a run of 104 bits/);
    expect(() => segmentsAt(run, -8, 8)).toThrow(RangeError);
  });
});
