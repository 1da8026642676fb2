import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { ed25519 } from '@noble/curves/ed25519.js';
import { ml_kem768_x25519 } from '@noble/post-quantum/hybrid.js';

import { ByteReader } from '../bytes';
import {
  BlastParameterInvalid,
  EnvelopeBadSignature,
  EnvelopeError,
  EnvelopeExpired,
  EnvelopeMalformed,
  EnvelopeMisaddressed,
  EnvelopeTampered,
} from '../errors';
import { aeadOpen, aeadSeal, deriveEnvelopeKey } from './aead';
import { DecapsulationCache, encapsulate, open, OpenOptions, seal } from './envelope';
import { encodeHeader, EnvelopeHeader, readHeader } from './header';

interface EnvelopeVector {
  name: string;
  header: EnvelopeHeader;
  headerBytes: string;
  sharedSecret: string;
  salt: string;
  key: string;
  nonce: string;
  plaintext: string;
  sealed: string;
}
const vectors = JSON.parse(
  readFileSync(join(__dirname, '../../test/vectors/envelope.json'), 'utf8'),
) as EnvelopeVector[];
const named = vectors.map((vector) => [vector.name, vector] as const);

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const fromHex = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'hex'));

function kme() {
  const kem = ml_kem768_x25519.keygen();
  const signingKey = ed25519.utils.randomSecretKey();
  return { kem, signingKey, signingPublicKey: ed25519.getPublicKey(signingKey) };
}

const east = kme();
const west = kme();
const NOW = Date.UTC(2026, 0, 1);

const header = (overrides: Partial<EnvelopeHeader> = {}): EnvelopeHeader => ({
  kind: 'metadata',
  subjectId: randomUUID(),
  source: 'kme-east',
  target: 'kme-west',
  expiresAt: NOW + 60_000,
  ...overrides,
});

const atWest = (overrides: Partial<OpenOptions> = {}): OpenOptions => ({
  self: 'kme-west',
  recipientKemSecret: west.kem.secretKey,
  senderSigPublicKeys: new Map([
    ['kme-east', east.signingPublicKey],
    ['kme-west', west.signingPublicKey],
  ]),
  now: NOW,
  ...overrides,
});

/** True when `open` refuses the bytes with an envelope error (and not, say, a crash). */
function refused(bytes: Uint8Array): boolean {
  try {
    open(bytes, atWest());
    return false;
  } catch (error) {
    if (error instanceof EnvelopeError) return true;
    throw error;
  }
}

const sealEastToWest = (plaintext: Uint8Array, overrides: Partial<EnvelopeHeader> = {}) =>
  seal(header(overrides), plaintext, east.signingKey, west.kem.publicKey);

describe('envelope header', () => {
  it.each(named)('encodes as the independent vector: %s', (_name, vector) => {
    expect(hex(encodeHeader(vector.header))).toBe(vector.headerBytes);
  });

  it.each(named)('decodes the vector back: %s', (_name, vector) => {
    const reader = new ByteReader(
      fromHex(vector.headerBytes),
      (_fault, detail) => new EnvelopeMalformed(detail),
    );
    expect(readHeader(reader)).toEqual(vector.header);
    expect(reader.remaining).toBe(0);
  });

  it.each([1, 3])('refuses an unknown version (%i: version 1 had no salt)', (version) => {
    const bytes = fromHex(vectors[0].headerBytes);
    bytes[0] = version;
    const reader = new ByteReader(bytes, (_fault, detail) => new EnvelopeMalformed(detail));
    expect(() => readHeader(reader)).toThrow(EnvelopeMalformed);
  });

  it('reads back the kind of a block acknowledgement', () => {
    const sent = header({ kind: 'ack' });
    const reader = new ByteReader(encodeHeader(sent), (_fault, detail) => new EnvelopeMalformed(detail));
    expect(readHeader(reader)).toEqual(sent);
  });

  it('refuses an unknown kind', () => {
    const bytes = fromHex(vectors[0].headerBytes);
    bytes[1] = 9;
    const reader = new ByteReader(bytes, (_fault, detail) => new EnvelopeMalformed(detail));
    expect(() => readHeader(reader)).toThrow(EnvelopeMalformed);
  });

  it('refuses a subject ID that is not a UUID', () => {
    expect(() => encodeHeader(header({ subjectId: 'block-1' }))).toThrow(BlastParameterInvalid);
  });
});

describe('envelope key schedule', () => {
  it.each(named)('derives the vector’s AES key and nonce with HKDF-SHA-256: %s', (_name, vector) => {
    const derived = deriveEnvelopeKey(
      fromHex(vector.sharedSecret),
      fromHex(vector.salt),
      fromHex(vector.headerBytes),
    );
    expect(hex(derived.key)).toBe(vector.key);
    expect(hex(derived.nonce)).toBe(vector.nonce);
  });

  it.each(named)('seals with AES-256-GCM as the vector: %s', (_name, vector) => {
    const key = { key: fromHex(vector.key), nonce: fromHex(vector.nonce) };
    expect(hex(aeadSeal(key, fromHex(vector.headerBytes), fromHex(vector.plaintext)))).toBe(vector.sealed);
    expect(hex(aeadOpen(key, fromHex(vector.headerBytes), fromHex(vector.sealed)) ?? new Uint8Array(1))).toBe(
      vector.plaintext,
    );
  });

  it('opens nothing when the additional data differs', () => {
    const vector = vectors[0];
    const key = { key: fromHex(vector.key), nonce: fromHex(vector.nonce) };
    const otherHeader = fromHex(vectors[1].headerBytes);
    expect(aeadOpen(key, otherHeader, fromHex(vector.sealed))).toBeUndefined();
  });
});

describe('seal and open', () => {
  it('returns the plaintext and the header to the addressee', () => {
    const plaintext = randomBytes(100);
    const sent = header({ kind: 'assignment' });
    const opened = open(seal(sent, plaintext, east.signingKey, west.kem.publicKey), atWest());
    expect(hex(opened.plaintext)).toBe(hex(plaintext));
    expect(opened.header).toEqual(sent);
  });

  it('accepts a function as the signing-key lookup', () => {
    const envelope = sealEastToWest(Uint8Array.of(1));
    const lookup = (id: string) => (id === 'kme-east' ? east.signingPublicKey : undefined);
    expect(open(envelope, atWest({ senderSigPublicKeys: lookup })).plaintext).toEqual(Uint8Array.of(1));
  });

  it('encapsulates afresh for every envelope', () => {
    const sent = header();
    const plaintext = randomBytes(32);
    const first = seal(sent, plaintext, east.signingKey, west.kem.publicKey);
    const second = seal(sent, plaintext, east.signingKey, west.kem.publicKey);
    const headerLength = encodeHeader(sent).length;
    const kemCiphertext = (bytes: Uint8Array) => hex(bytes.subarray(headerLength, headerLength + 1120));
    expect(kemCiphertext(first)).not.toBe(kemCiphertext(second));
  });

  it('shares an encapsulation when given one, each envelope still with its own salt and AES key', () => {
    const shared = encapsulate(west.kem.publicKey);
    const sent = header({ kind: 'assignment' });
    const plaintext = randomBytes(32);
    const first = seal(sent, plaintext, east.signingKey, shared);
    const second = seal(sent, plaintext, east.signingKey, shared);
    const headerLength = encodeHeader(sent).length;
    const part = (bytes: Uint8Array, from: number, to: number) =>
      hex(bytes.subarray(headerLength + from, headerLength + to));
    expect(part(first, 0, 1120)).toBe(hex(shared.cipherText));
    expect(part(second, 0, 1120)).toBe(hex(shared.cipherText));
    expect(part(first, 1120, 1136)).not.toBe(part(second, 1120, 1136));
    expect(part(first, 1136, first.length - 64)).not.toBe(part(second, 1136, second.length - 64));
    expect(hex(open(first, atWest()).plaintext)).toBe(hex(plaintext));
    expect(hex(open(second, atWest()).plaintext)).toBe(hex(plaintext));
    expect(() => seal(sent, plaintext, east.signingKey, west.kem.publicKey.subarray(1))).toThrow(
      BlastParameterInvalid,
    );
  });

  it('decapsulates a shared encapsulation once per cache, forgetting the least recently used', () => {
    const cache = new DecapsulationCache(2, 60_000);
    const [a, b, c] = [0, 1, 2].map(() => encapsulate(west.kem.publicKey));
    let decapsulations = 0;
    const counting = (shared: typeof a) => () => {
      decapsulations += 1;
      return new Uint8Array(shared!.sharedSecret);
    };
    for (const shared of [a, a, b, a, c, a, b]) {
      expect(hex(cache.secretOf(shared!.cipherText, counting(shared)))).toBe(hex(shared!.sharedSecret));
    }
    // a once, b once, c once (evicting b, used less recently than a), then b again.
    expect(decapsulations).toBe(4);
    expect(cache.size).toBe(2);
    const envelopes = [a, a, b].map((shared) => seal(header(), randomBytes(8), east.signingKey, shared!));
    const fresh = new DecapsulationCache(8, 60_000);
    envelopes.forEach((envelope) => open(envelope, atWest({ decapsulations: fresh })));
    expect(fresh.size).toBe(2);
    fresh.clear();
    expect(fresh.size).toBe(0);
  });

  it('zeroes and drops a secret left unused for its idle time, keeping those in use', () => {
    jest.useFakeTimers({ now: 0 });
    try {
      const cache = new DecapsulationCache(8, 60_000);
      const [a, b] = [0, 1].map(() => encapsulate(west.kem.publicKey));
      const held: Uint8Array[] = [];
      const keep = (shared: typeof a) => () => {
        const secret = new Uint8Array(shared!.sharedSecret);
        held.push(secret);
        return secret;
      };
      cache.secretOf(a!.cipherText, keep(a));
      jest.advanceTimersByTime(30_000);
      cache.secretOf(b!.cipherText, keep(b));
      jest.advanceTimersByTime(29_999);
      cache.secretOf(a!.cipherText, keep(a));
      expect(cache.size).toBe(2);
      // b was last used at 30 s, a at 59.999 s.
      jest.advanceTimersByTime(30_001);
      expect(cache.size).toBe(1);
      expect(held[1]!.every((byte) => byte === 0)).toBe(true);
      expect(held[0]!.some((byte) => byte !== 0)).toBe(true);
      jest.advanceTimersByTime(30_000);
      expect(cache.size).toBe(0);
      expect(held[0]!.every((byte) => byte === 0)).toBe(true);
      expect(jest.getTimerCount()).toBe(0);
    } finally {
      jest.useRealTimers();
    }
  });

  it('keeps no secret from an envelope whose signature fails', () => {
    const cache = new DecapsulationCache(8, 60_000);
    const envelope = seal(header(), randomBytes(8), west.signingKey, encapsulate(west.kem.publicKey));
    expect(() => open(envelope, atWest({ decapsulations: cache }))).toThrow(EnvelopeBadSignature);
    expect(cache.size).toBe(0);
  });

  it('never carries the plaintext in the clear', () => {
    const plaintext = randomBytes(64);
    expect(hex(sealEastToWest(plaintext))).not.toContain(hex(plaintext.subarray(0, 16)));
  });

  it('refuses a change to any single byte', () => {
    const envelope = sealEastToWest(randomBytes(32));
    const accepted: number[] = [];
    for (let position = 0; position < envelope.length; position++) {
      const altered = new Uint8Array(envelope);
      altered[position] ^= 1 + (position % 255);
      if (!refused(altered)) accepted.push(position);
    }
    expect(accepted).toEqual([]);
  });

  it('refuses a truncated envelope', () => {
    const envelope = sealEastToWest(randomBytes(32));
    for (const length of [0, 1, 20, envelope.length - 65, envelope.length - 1]) {
      expect(refused(envelope.subarray(0, length))).toBe(true);
    }
    expect(() => open(envelope.subarray(0, 20), atWest())).toThrow(EnvelopeMalformed);
  });

  it('refuses an envelope with bytes appended', () => {
    const envelope = sealEastToWest(randomBytes(32));
    expect(() => open(Buffer.concat([envelope, Uint8Array.of(0)]), atWest())).toThrow(EnvelopeBadSignature);
  });

  it('refuses an envelope signed by another KME than its source', () => {
    const forged = seal(header(), randomBytes(32), west.signingKey, west.kem.publicKey);
    expect(() => open(forged, atWest())).toThrow(EnvelopeBadSignature);
  });

  it('refuses an envelope from a source with no known signing key', () => {
    const envelope = seal(
      header({ source: 'kme-rogue' }),
      randomBytes(32),
      east.signingKey,
      west.kem.publicKey,
    );
    expect(() => open(envelope, atWest())).toThrow(EnvelopeBadSignature);
  });

  it('refuses an envelope addressed to another KME', () => {
    const envelope = sealEastToWest(randomBytes(32), { target: 'kme-north' });
    expect(() => open(envelope, atWest())).toThrow(EnvelopeMisaddressed);
  });

  it('refuses an envelope from its expiry on, and opens it one millisecond before', () => {
    const envelope = sealEastToWest(randomBytes(32), { expiresAt: NOW + 1000 });
    expect(() => open(envelope, atWest({ now: NOW + 1000 }))).toThrow(EnvelopeExpired);
    expect(open(envelope, atWest({ now: NOW + 999 })).plaintext).toHaveLength(32);
  });

  it('refuses an authentic envelope sealed to a KEM key this KME does not hold', () => {
    const envelope = seal(header(), randomBytes(32), east.signingKey, kme().kem.publicKey);
    expect(() => open(envelope, atWest())).toThrow(EnvelopeTampered);
  });

  it('checks the signature before the addressee and the addressee before the expiry', () => {
    const elsewhereAndExpired = sealEastToWest(randomBytes(8), { target: 'kme-north', expiresAt: NOW - 1 });
    const unsigned = new Uint8Array(elsewhereAndExpired);
    unsigned[unsigned.length - 1] ^= 1;
    expect(() => open(unsigned, atWest())).toThrow(EnvelopeBadSignature);
    expect(() => open(elsewhereAndExpired, atWest())).toThrow(EnvelopeMisaddressed);
  });

  it('gives a redelivered envelope the same envelope ID', () => {
    const envelope = sealEastToWest(randomBytes(32));
    const redelivered = new Uint8Array(envelope);
    expect(open(redelivered, atWest()).envelopeId).toBe(open(envelope, atWest()).envelopeId);
    expect(open(envelope, atWest()).envelopeId).toMatch(/^[0-9a-f]{64}$/);
  });

  it('gives a second sealing of the same subject a different envelope ID', () => {
    const sent = header();
    const plaintext = randomBytes(32);
    const first = open(seal(sent, plaintext, east.signingKey, west.kem.publicKey), atWest());
    const second = open(seal(sent, plaintext, east.signingKey, west.kem.publicKey), atWest());
    expect(first.envelopeId).not.toBe(second.envelopeId);
    expect(first.header.subjectId).toBe(second.header.subjectId);
  });

  it('refuses keys of the wrong size', () => {
    expect(() => seal(header(), Uint8Array.of(1), east.signingKey, west.kem.secretKey)).toThrow(
      BlastParameterInvalid,
    );
    expect(() => seal(header(), Uint8Array.of(1), randomBytes(64), west.kem.publicKey)).toThrow(
      BlastParameterInvalid,
    );
    const envelope = sealEastToWest(Uint8Array.of(1));
    expect(() => open(envelope, atWest({ recipientKemSecret: west.kem.publicKey }))).toThrow(
      BlastParameterInvalid,
    );
  });
});
