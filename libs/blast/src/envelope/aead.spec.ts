import { randomBytes } from 'node:crypto';

import { aeadOpen, aeadSeal, type EnvelopeKey } from './aead';

describe('aeadOpen', () => {
  const key: EnvelopeKey = { key: randomBytes(32), nonce: randomBytes(12) };
  const additionalData = Buffer.from('header');

  /** Opens `sealed` while capturing the buffers the decipher hands out. */
  function openCapturing(sealed: Uint8Array): { opened: Uint8Array | undefined; handedOut: Buffer[] } {
    const handedOut: Buffer[] = [];
    // The module object aead.ts calls into (an `import * as` namespace is a copy under Jest).
    const crypto = jest.requireActual<typeof import('node:crypto')>('node:crypto');
    const real = crypto.createDecipheriv;
    const spy = jest.spyOn(crypto, 'createDecipheriv').mockImplementation(((
      ...args: Parameters<typeof real>
    ) => {
      const decipher = real(...args);
      const update = decipher.update.bind(decipher) as (data: Uint8Array) => Buffer;
      decipher.update = ((data: Uint8Array) => {
        const out = update(data);
        handedOut.push(out);
        return out;
      }) as typeof decipher.update;
      return decipher;
    }) as typeof real);
    try {
      return { opened: aeadOpen(key, additionalData, sealed), handedOut };
    } finally {
      spy.mockRestore();
    }
  }

  it('answers the plaintext in a copy of its own and zeroes what the decipher handed out', () => {
    const plaintext = randomBytes(256);
    const { opened, handedOut } = openCapturing(aeadSeal(key, additionalData, plaintext));
    expect(Buffer.from(opened!)).toEqual(plaintext);
    expect(handedOut.length).toBeGreaterThan(0);
    expect(handedOut.every((buffer) => buffer.every((byte) => byte === 0))).toBe(true);
  });

  it('answers undefined to an altered ciphertext, and zeroes what was deciphered of it', () => {
    const sealed = aeadSeal(key, additionalData, randomBytes(256));
    sealed[0] ^= 1;
    const { opened, handedOut } = openCapturing(sealed);
    expect(opened).toBeUndefined();
    expect(handedOut.length).toBeGreaterThan(0);
    expect(handedOut.every((buffer) => buffer.every((byte) => byte === 0))).toBe(true);
  });
});
