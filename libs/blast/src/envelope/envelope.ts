import { createHash } from 'node:crypto';

import { ByteReader, zero } from '../bytes';
import {
  BlastParameterInvalid,
  EnvelopeBadSignature,
  EnvelopeExpired,
  EnvelopeMalformed,
  EnvelopeMisaddressed,
  EnvelopeTampered,
} from '../errors';
import { aeadOpen, aeadSeal, deriveEnvelopeKey, TAG_BYTES } from './aead';
import { encodeHeader, EnvelopeHeader, readHeader } from './header';
import { ed25519Sign, ed25519Verify, xwingDecapsulate, xwingEncapsulate } from './native-curves';

/** X-Wing: the secret key is a 32-byte seed. */
export const KEM_PUBLIC_KEY_BYTES = 1216;
export const KEM_SECRET_KEY_BYTES = 32;
const KEM_CIPHERTEXT_BYTES = 1120;
export const SIGNING_KEY_BYTES = 32;
const SIGNATURE_BYTES = 64;

/** Signing public keys by KME (or entropy server) ID, as read from the network file. */
export type SigningKeyLookup = ReadonlyMap<string, Uint8Array> | ((id: string) => Uint8Array | undefined);

export interface OpenOptions {
  /** This KME's ID: envelopes addressed elsewhere are refused. */
  readonly self: string;
  readonly recipientKemSecret: Uint8Array;
  readonly senderSigPublicKeys: SigningKeyLookup;
  /** UTC ms. */
  readonly now: number;
}

export interface OpenedEnvelope {
  /**
   * Stable identity of these exact envelope bytes (hex SHA-256 of the signature): a redelivery has the
   * same ID, so an inbox keyed on it acknowledges again without a second effect. A re-sealing of the
   * same subject gets a new ID; idempotence per block or key goes by `header.subjectId`.
   */
  readonly envelopeId: string;
  readonly header: EnvelopeHeader;
  readonly plaintext: Uint8Array;
}

/**
 * Seals `plaintext` for one recipient: header ‖ X-Wing ciphertext ‖ AES-256-GCM ciphertext and tag ‖
 * Ed25519 signature by the sender over everything before it. Every call encapsulates afresh.
 */
export function seal(
  header: EnvelopeHeader,
  plaintext: Uint8Array,
  senderSigningKey: Uint8Array,
  recipientKemPublicKey: Uint8Array,
): Uint8Array {
  if (senderSigningKey.length !== SIGNING_KEY_BYTES) {
    throw new BlastParameterInvalid(`signing key must be ${SIGNING_KEY_BYTES} bytes`);
  }
  if (recipientKemPublicKey.length !== KEM_PUBLIC_KEY_BYTES) {
    throw new BlastParameterInvalid(`KEM public key must be ${KEM_PUBLIC_KEY_BYTES} bytes`);
  }
  const headerBytes = encodeHeader(header);
  const { cipherText: kemCiphertext, sharedSecret } = xwingEncapsulate(recipientKemPublicKey);
  const key = deriveEnvelopeKey(sharedSecret, headerBytes);
  const aeadCiphertext = aeadSeal(key, headerBytes, plaintext);
  zero(sharedSecret, key.key, key.nonce);
  const signed = concat(headerBytes, kemCiphertext, aeadCiphertext);
  return concat(signed, ed25519Sign(signed, senderSigningKey));
}

/**
 * Opens an envelope in the order that leaks least: signature (by the header's source), then
 * addressee, then expiry, and only then decapsulation and decryption.
 */
export function open(bytes: Uint8Array, options: OpenOptions): OpenedEnvelope {
  if (options.recipientKemSecret.length !== KEM_SECRET_KEY_BYTES) {
    throw new BlastParameterInvalid(`KEM secret key must be ${KEM_SECRET_KEY_BYTES} bytes`);
  }
  const reader = new ByteReader(bytes, (_fault, detail) => new EnvelopeMalformed(`envelope ${detail}`));
  const header = readHeader(reader);
  const headerLength = bytes.length - reader.remaining;
  if (reader.remaining < KEM_CIPHERTEXT_BYTES + TAG_BYTES + SIGNATURE_BYTES) {
    throw new EnvelopeMalformed('envelope truncated');
  }
  const signed = bytes.subarray(0, bytes.length - SIGNATURE_BYTES);
  const signature = bytes.subarray(bytes.length - SIGNATURE_BYTES);
  const signingKey = lookUp(options.senderSigPublicKeys, header.source);
  if (!signingKey || !verifies(signature, signed, signingKey)) {
    throw new EnvelopeBadSignature(`envelope not signed by ${header.source}`);
  }
  if (header.target !== options.self) {
    throw new EnvelopeMisaddressed(`envelope for ${header.target} reached ${options.self}`);
  }
  if (options.now >= header.expiresAt) {
    throw new EnvelopeExpired(`envelope expired at ${new Date(header.expiresAt).toISOString()}`);
  }
  const headerBytes = bytes.subarray(0, headerLength);
  const kemCiphertext = bytes.subarray(headerLength, headerLength + KEM_CIPHERTEXT_BYTES);
  const aeadCiphertext = bytes.subarray(headerLength + KEM_CIPHERTEXT_BYTES, bytes.length - SIGNATURE_BYTES);
  const sharedSecret = decapsulate(kemCiphertext, options.recipientKemSecret);
  const key = deriveEnvelopeKey(sharedSecret, headerBytes);
  const plaintext = aeadOpen(key, headerBytes, aeadCiphertext);
  zero(sharedSecret, key.key, key.nonce);
  if (!plaintext) throw new EnvelopeTampered('envelope signed but does not decrypt with this KME’s key');
  return { envelopeId: envelopeIdOf(signature), header, plaintext };
}

/** A ciphertext the sender signed but that is not valid X-Wing for us counts as tampered, like a bad tag. */
function decapsulate(kemCiphertext: Uint8Array, secretKey: Uint8Array): Uint8Array {
  try {
    return xwingDecapsulate(kemCiphertext, secretKey);
  } catch (error) {
    throw new EnvelopeTampered('envelope signed but its KEM ciphertext is invalid', { cause: error });
  }
}

function envelopeIdOf(signature: Uint8Array): string {
  return createHash('sha256').update(signature).digest('hex');
}

function lookUp(keys: SigningKeyLookup, id: string): Uint8Array | undefined {
  return typeof keys === 'function' ? keys(id) : keys.get(id);
}

/** Strict verification (see ed25519Verify), so the envelope ID cannot be varied by a relay. */
function verifies(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  try {
    return ed25519Verify(signature, message, publicKey);
  } catch {
    return false;
  }
}

function concat(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}
