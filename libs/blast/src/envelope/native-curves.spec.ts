import { randomBytes } from 'node:crypto';

import { ed25519 } from '@noble/curves/ed25519.js';
import { ml_kem768_x25519 } from '@noble/post-quantum/hybrid.js';

import { ed25519Sign, ed25519Verify, xwingDecapsulate, xwingEncapsulate } from './native-curves';

// @noble's implementations are the reference the sealing identities were made with; the native ones
// must agree with them byte for byte, in both directions.
describe('X-Wing over native X25519', () => {
  const recipient = ml_kem768_x25519.keygen();

  it('decapsulates what the reference encapsulated, to the same secret', () => {
    for (let i = 0; i < 5; i++) {
      const { cipherText, sharedSecret } = ml_kem768_x25519.encapsulate(recipient.publicKey);
      expect(Buffer.from(xwingDecapsulate(cipherText, recipient.secretKey))).toEqual(
        Buffer.from(sharedSecret),
      );
    }
  });

  it('encapsulates what the reference decapsulates to the same secret', () => {
    for (let i = 0; i < 5; i++) {
      const { cipherText, sharedSecret } = xwingEncapsulate(recipient.publicKey);
      expect(cipherText).toHaveLength(1120);
      expect(Buffer.from(ml_kem768_x25519.decapsulate(cipherText, recipient.secretKey))).toEqual(
        Buffer.from(sharedSecret),
      );
    }
  });

  it('gives another recipient another secret', () => {
    const other = ml_kem768_x25519.keygen();
    const { cipherText, sharedSecret } = xwingEncapsulate(recipient.publicKey);
    expect(Buffer.from(xwingDecapsulate(cipherText, other.secretKey))).not.toEqual(Buffer.from(sharedSecret));
  });

  it('refuses a low-order X25519 point', () => {
    const { cipherText } = xwingEncapsulate(recipient.publicKey);
    const zeroPoint = new Uint8Array(cipherText);
    zeroPoint.fill(0, 1088);
    expect(() => xwingDecapsulate(zeroPoint, recipient.secretKey)).toThrow();
  });
});

describe('Ed25519 over OpenSSL', () => {
  const secretKey = ed25519.utils.randomSecretKey();
  const publicKey = ed25519.getPublicKey(secretKey);
  const message = randomBytes(200);

  it('signs exactly as the reference does and verifies what it signed', () => {
    const signature = ed25519Sign(message, secretKey);
    expect(Buffer.from(signature)).toEqual(Buffer.from(ed25519.sign(message, secretKey)));
    expect(ed25519Verify(signature, message, publicKey)).toBe(true);
  });

  it('refuses another message, another key and a flipped signature bit', () => {
    const signature = ed25519Sign(message, secretKey);
    expect(ed25519Verify(signature, randomBytes(200), publicKey)).toBe(false);
    expect(ed25519Verify(signature, message, ed25519.getPublicKey(ed25519.utils.randomSecretKey()))).toBe(
      false,
    );
    for (const bit of [0, 100, 300, 511]) {
      const flipped = new Uint8Array(signature);
      flipped[bit >> 3]! ^= 1 << (bit & 7);
      expect(ed25519Verify(flipped, message, publicKey)).toBe(false);
    }
  });

  it('refuses the malleated signature S + L (same point, non-canonical S)', () => {
    const signature = ed25519Sign(message, secretKey);
    const order = Buffer.from('edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010', 'hex');
    const malleated = new Uint8Array(signature);
    let carry = 0;
    for (let i = 0; i < 32; i++) {
      const sum = malleated[32 + i]! + order[i]! + carry;
      malleated[32 + i] = sum & 0xff;
      carry = sum >> 8;
    }
    expect(carry).toBe(0);
    expect(ed25519Verify(malleated, message, publicKey)).toBe(false);
  });

  it('refuses keys and signatures of the wrong length', () => {
    const signature = ed25519Sign(message, secretKey);
    expect(ed25519Verify(signature.subarray(1), message, publicKey)).toBe(false);
    expect(ed25519Verify(signature, message, publicKey.subarray(1))).toBe(false);
  });
});
