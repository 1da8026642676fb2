import { createHash, randomBytes } from 'node:crypto';

import { ByteReader, zero } from '../bytes';
import {
  BlastParameterInvalid,
  EnvelopeBadSignature,
  EnvelopeExpired,
  EnvelopeMalformed,
  EnvelopeMisaddressed,
  EnvelopeTampered,
} from '../errors';
import { aeadOpen, aeadSeal, deriveEnvelopeKey, SALT_BYTES, TAG_BYTES } from './aead';
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
  /** Where shared encapsulations are remembered (see DecapsulationCache); without it every one is opened. */
  readonly decapsulations?: DecapsulationCache;
}

/**
 * An X-Wing encapsulation to one recipient that several envelopes may share: a gateway seals the
 * assignments of one lease with one, so a batch costs no lattice arithmetic at either end. Each envelope
 * still has its own AES key and nonce, derived with its own random salt. Zero `sharedSecret` when done.
 */
export interface Encapsulation {
  readonly recipientKemPublicKey: Uint8Array;
  readonly cipherText: Uint8Array;
  readonly sharedSecret: Uint8Array;
}

export function encapsulate(recipientKemPublicKey: Uint8Array): Encapsulation {
  if (recipientKemPublicKey.length !== KEM_PUBLIC_KEY_BYTES) {
    throw new BlastParameterInvalid(`KEM public key must be ${KEM_PUBLIC_KEY_BYTES} bytes`);
  }
  const { cipherText, sharedSecret } = xwingEncapsulate(recipientKemPublicKey);
  return { recipientKemPublicKey, cipherText, sharedSecret };
}

/**
 * The shared secrets of KEM ciphertexts one recipient opened lately, so envelopes sharing an encapsulation
 * cost it one decapsulation. Only ciphertexts of authentic envelopes get here (the signature is checked
 * first); beyond `capacity` the least recently used secret is zeroed and dropped, and so is every secret
 * unused for `idleMs`: a sender shares an encapsulation for a short while only, and a quiet link would
 * otherwise keep its last secrets in memory for as long as the process runs.
 */
export class DecapsulationCache {
  /** By last use, the least recent first. */
  private readonly secrets = new Map<string, { readonly secret: Uint8Array; usedAt: number }>();
  private sweep: NodeJS.Timeout | undefined;

  constructor(
    private readonly capacity: number,
    private readonly idleMs: number,
  ) {}

  get size(): number {
    return this.secrets.size;
  }

  /** A copy of the ciphertext's shared secret (the caller zeroes it), decapsulating only on a miss. */
  secretOf(kemCiphertext: Uint8Array, decapsulate: () => Uint8Array): Uint8Array {
    const id = createHash('sha256').update(kemCiphertext).digest('hex');
    let entry = this.secrets.get(id);
    if (entry === undefined) {
      entry = { secret: decapsulate(), usedAt: Date.now() };
      if (this.secrets.size >= this.capacity) this.forget(this.secrets.keys().next().value as string);
    } else {
      this.secrets.delete(id);
      entry.usedAt = Date.now();
    }
    this.secrets.set(id, entry);
    this.sweep ??= this.sweepLater();
    return new Uint8Array(entry.secret);
  }

  clear(): void {
    clearTimeout(this.sweep);
    this.sweep = undefined;
    [...this.secrets.keys()].forEach((id) => this.forget(id));
  }

  /**
   * Drops the idle secrets when the least recently used one turns idle, and again until none is left. Only
   * called with a secret held.
   */
  private sweepLater(): NodeJS.Timeout {
    const [oldest] = this.secrets.values();
    const timer = setTimeout(
      () => {
        const idleSince = Date.now() - this.idleMs;
        for (const [id, { usedAt }] of this.secrets) {
          if (usedAt > idleSince) break;
          this.forget(id);
        }
        this.sweep = this.secrets.size > 0 ? this.sweepLater() : undefined;
      },
      Math.max(0, oldest!.usedAt + this.idleMs - Date.now()),
    );
    // Never what keeps a process alive.
    timer.unref();
    return timer;
  }

  private forget(id: string): void {
    this.secrets.get(id)?.secret.fill(0);
    this.secrets.delete(id);
  }
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
 * Seals `plaintext` for one recipient: header ‖ X-Wing ciphertext ‖ salt ‖ AES-256-GCM ciphertext and tag ‖
 * Ed25519 signature by the sender over everything before it. Given the recipient's public key, it
 * encapsulates afresh; given an Encapsulation, it shares that one (the salt keeps the AES key its own).
 */
export function seal(
  header: EnvelopeHeader,
  plaintext: Uint8Array,
  senderSigningKey: Uint8Array,
  recipient: Uint8Array | Encapsulation,
): Uint8Array {
  if (senderSigningKey.length !== SIGNING_KEY_BYTES) {
    throw new BlastParameterInvalid(`signing key must be ${SIGNING_KEY_BYTES} bytes`);
  }
  const fresh = recipient instanceof Uint8Array ? encapsulate(recipient) : undefined;
  const { cipherText: kemCiphertext, sharedSecret } = fresh ?? (recipient as Encapsulation);
  const headerBytes = encodeHeader(header);
  const salt = new Uint8Array(randomBytes(SALT_BYTES));
  const key = deriveEnvelopeKey(sharedSecret, salt, headerBytes);
  const aeadCiphertext = aeadSeal(key, headerBytes, plaintext);
  zero(key.key, key.nonce);
  if (fresh !== undefined) zero(fresh.sharedSecret);
  const signed = concat(headerBytes, kemCiphertext, salt, aeadCiphertext);
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
  if (reader.remaining < KEM_CIPHERTEXT_BYTES + SALT_BYTES + TAG_BYTES + SIGNATURE_BYTES) {
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
  const saltAt = headerLength + KEM_CIPHERTEXT_BYTES;
  const kemCiphertext = bytes.subarray(headerLength, saltAt);
  const salt = bytes.subarray(saltAt, saltAt + SALT_BYTES);
  const aeadCiphertext = bytes.subarray(saltAt + SALT_BYTES, bytes.length - SIGNATURE_BYTES);
  const opening = () => decapsulate(kemCiphertext, options.recipientKemSecret);
  const sharedSecret = options.decapsulations?.secretOf(kemCiphertext, opening) ?? opening();
  const key = deriveEnvelopeKey(sharedSecret, salt, headerBytes);
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
