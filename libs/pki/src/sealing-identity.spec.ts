import { ed25519 } from '@noble/curves/ed25519.js';
import { ml_kem768_x25519 } from '@noble/post-quantum/hybrid.js';

import { PkiError } from './errors';
import {
  encodeSealingIdentity,
  encodeSealingPublicKeys,
  generateSealingIdentity,
  parseSealingIdentity,
  parseSealingPublicKeys,
  sealingPublicKeysOf,
} from './sealing-identity';

function edit(text: string, change: (fields: Record<string, unknown>) => void): string {
  const fields = JSON.parse(text) as Record<string, unknown>;
  change(fields);
  return JSON.stringify(fields);
}

function refusal(parse: () => unknown): PkiError {
  try {
    parse();
  } catch (error) {
    if (error instanceof PkiError) {
      return error;
    }
    throw error;
  }
  throw new Error('expected a PkiError, but parsing succeeded');
}

describe('sealing identity', () => {
  const east = generateSealingIdentity('kme-east');
  const west = generateSealingIdentity('kme-west');
  const secretText = encodeSealingIdentity(east);

  describe('generateSealingIdentity', () => {
    it('makes an X-Wing key pair of 1216/32 bytes and an Ed25519 key pair of 32/32 bytes', () => {
      expect(east.kemPublicKey).toHaveLength(1216);
      expect(east.kemSecretKey).toHaveLength(32);
      expect(east.sigPublicKey).toHaveLength(32);
      expect(east.sigSecretKey).toHaveLength(32);
    });

    it('makes keys that seal and sign', () => {
      const { cipherText, sharedSecret } = ml_kem768_x25519.encapsulate(east.kemPublicKey);
      expect(ml_kem768_x25519.decapsulate(cipherText, east.kemSecretKey)).toEqual(sharedSecret);
      const message = new TextEncoder().encode('metadata');
      expect(ed25519.verify(ed25519.sign(message, east.sigSecretKey), message, east.sigPublicKey)).toBe(true);
    });

    it('makes a different identity every time', () => {
      expect(Buffer.from(west.kemSecretKey).equals(east.kemSecretKey)).toBe(false);
      expect(Buffer.from(west.sigSecretKey).equals(east.sigSecretKey)).toBe(false);
    });
  });

  describe('file format', () => {
    it('writes the agreed fields, in order, as padded standard base64', () => {
      const fields = JSON.parse(secretText) as Record<string, unknown>;
      expect(Object.keys(fields)).toEqual([
        'version',
        'kme_id',
        'kem',
        'kem_public_key',
        'kem_secret_key',
        'sig',
        'sig_public_key',
        'sig_secret_key',
      ]);
      expect(fields).toMatchObject({ version: 1, kme_id: 'kme-east', kem: 'X-Wing', sig: 'Ed25519' });
      expect(fields.sig_public_key).toBe(Buffer.from(east.sigPublicKey).toString('base64'));
      expect(fields.sig_public_key).toMatch(/=$/);
    });

    it('leaves both secret fields out of the public file', () => {
      const fields = JSON.parse(encodeSealingPublicKeys(east)) as Record<string, unknown>;
      expect(Object.keys(fields)).toEqual([
        'version',
        'kme_id',
        'kem',
        'kem_public_key',
        'sig',
        'sig_public_key',
      ]);
    });
  });

  describe('parseSealingIdentity', () => {
    it('round-trips an encoded identity into Uint8Arrays', () => {
      const parsed = parseSealingIdentity(secretText);
      expect(parsed).toEqual(east);
      expect(Object.getPrototypeOf(parsed.kemSecretKey)).toBe(Uint8Array.prototype);
    });

    it('refuses a file whose KEM public key belongs to another identity', () => {
      const mixed = edit(secretText, (fields) => {
        fields.kem_public_key = Buffer.from(west.kemPublicKey).toString('base64');
      });
      expect(refusal(() => parseSealingIdentity(mixed, 'kme-east.sealing.json'))).toMatchObject({
        code: 'invalid-sealing-identity',
        message: 'kme-east.sealing.json is invalid: kem_public_key does not belong to kem_secret_key',
      });
    });

    it('refuses a file whose signature public key belongs to another identity', () => {
      const mixed = edit(secretText, (fields) => {
        fields.sig_public_key = Buffer.from(west.sigPublicKey).toString('base64');
      });
      expect(refusal(() => parseSealingIdentity(mixed)).message).toMatch(/sig_public_key does not belong/);
    });

    it('refuses a file with a single flipped bit in a secret key', () => {
      const flipped = Buffer.from(east.sigSecretKey);
      flipped[0] ^= 1;
      const tampered = edit(secretText, (fields) => {
        fields.sig_secret_key = flipped.toString('base64');
      });
      expect(refusal(() => parseSealingIdentity(tampered)).message).toMatch(/does not belong/);
    });

    it('refuses a key of the wrong size and names the size', () => {
      const short = edit(secretText, (fields) => {
        fields.kem_public_key = Buffer.alloc(1184).toString('base64');
      });
      expect(refusal(() => parseSealingIdentity(short)).message).toMatch(
        /kem_public_key must be 1216 bytes, found 1184/,
      );
    });

    it('refuses an unknown version', () => {
      const future = edit(secretText, (fields) => {
        fields.version = 2;
      });
      expect(refusal(() => parseSealingIdentity(future)).message).toMatch(/version must be 1, found 2/);
    });

    it('refuses another KEM or signature algorithm', () => {
      const kyber = edit(secretText, (fields) => {
        fields.kem = 'ML-KEM-768';
      });
      const ecdsa = edit(secretText, (fields) => {
        fields.sig = 'ECDSA';
      });
      expect(refusal(() => parseSealingIdentity(kyber)).message).toMatch(/kem must be "X-Wing"/);
      expect(refusal(() => parseSealingIdentity(ecdsa)).message).toMatch(/sig must be "Ed25519"/);
    });

    it('refuses URL-safe, unpadded or non-canonical base64', () => {
      const key = Buffer.from(east.sigSecretKey).toString('base64');
      const variants = [
        key.replace(/=+$/, ''),
        Buffer.from(east.sigSecretKey).toString('base64url'),
        // The last character of a 32-byte key carries 4 unused bits; setting one gives the same bytes.
        key.slice(0, 42) + String.fromCharCode(key.charCodeAt(42) + 1) + '=',
      ].filter((variant) => variant !== key);
      expect(variants.length).toBeGreaterThanOrEqual(2);
      for (const variant of variants) {
        const text = edit(secretText, (fields) => {
          fields.sig_secret_key = variant;
        });
        expect(refusal(() => parseSealingIdentity(text)).message).toMatch(/sig_secret_key .*base64/);
      }
    });

    it('refuses a missing secret key', () => {
      const publicOnly = encodeSealingPublicKeys(east);
      expect(refusal(() => parseSealingIdentity(publicOnly)).message).toMatch(/kem_secret_key must be/);
    });

    it('refuses text that is not a JSON object', () => {
      expect(refusal(() => parseSealingIdentity('not json')).message).toMatch(/not JSON/);
      expect(refusal(() => parseSealingIdentity('[1]')).message).toMatch(/not a JSON object/);
    });
  });

  describe('parseSealingPublicKeys', () => {
    it('round-trips the public file', () => {
      expect(parseSealingPublicKeys(encodeSealingPublicKeys(east))).toEqual(sealingPublicKeysOf(east));
    });

    it('refuses a file that carries secret keys, since public files are shared', () => {
      expect(refusal(() => parseSealingPublicKeys(secretText)).message).toMatch(/holds kem_secret_key/);
    });

    it('refuses a public key of the wrong size', () => {
      const text = edit(encodeSealingPublicKeys(east), (fields) => {
        fields.sig_public_key = Buffer.alloc(33).toString('base64');
      });
      expect(refusal(() => parseSealingPublicKeys(text)).message).toMatch(/sig_public_key must be 32 bytes/);
    });
  });
});
