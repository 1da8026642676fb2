import { filledBuffer } from './random-source';

describe('filledBuffer', () => {
  it('answers the buffer its fill wrote', async () => {
    const out = await filledBuffer(4, async (buffer) => buffer.set([1, 2, 3, 4]));
    expect([...out]).toEqual([1, 2, 3, 4]);
  });

  it('zeroes what a failing fill wrote before the error goes on', async () => {
    let seen: Uint8Array | undefined;
    const failure = new Error('source went away');
    await expect(
      filledBuffer(4, async (buffer) => {
        seen = buffer;
        buffer.set([7, 7], 0);
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect([...seen!]).toEqual([0, 0, 0, 0]);
  });
});
