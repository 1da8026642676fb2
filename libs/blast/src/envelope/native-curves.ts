import {
  createHash,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';

import { ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import { shake256 } from '@noble/hashes/sha3.js';

/**
 * X-Wing (ML-KEM-768 + X25519, draft-connolly-cfrg-xwing-kem) and Ed25519 with the curve arithmetic in
 * Node's OpenSSL rather than in pure JavaScript: the same bytes as @noble/post-quantum's
 * `ml_kem768_x25519` and @noble/curves' `ed25519` (the specs cross-check both ways), at a fraction of
 * the CPU time per envelope. ML-KEM stays with @noble/post-quantum, as Node 20 has none.
 */

const ML_KEM_PUBLIC_KEY_BYTES = 1184;
const ML_KEM_CIPHERTEXT_BYTES = 1088;
const X25519_BYTES = 32;
/** X-Wing's domain-separation label `\.//^\`. */
const XWING_LABEL = Buffer.from('5c2e2f2f5e5c', 'hex');

// PKCS#8 DER prefixes that turn raw 32-byte private keys into what OpenSSL reads (RFC 8410). Public keys,
// imported per message, go in as JWK instead: several times cheaper than DER through OpenSSL 3's decoders.
const X25519_PKCS8 = Buffer.from('302e020100300506032b656e04220420', 'hex');
const ED25519_PKCS8 = Buffer.from('302e020100300506032b657004220420', 'hex');

/** The group order L of Ed25519, little-endian: a signature's S must be below it (RFC 8032 §5.1.7). */
const ED25519_ORDER = Buffer.from('edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010', 'hex');

interface ExpandedXWingKey {
  readonly mlKemSecretKey: Uint8Array;
  readonly x25519: KeyObject;
  readonly x25519PublicKey: Uint8Array;
}

// Identities live as long as the process and are passed as the same arrays each time, so keying the
// expensive expansions on the array object caches them without keeping any extra copy of a secret by value.
const expandedKeys = new WeakMap<Uint8Array, ExpandedXWingKey>();
const signingKeys = new WeakMap<Uint8Array, KeyObject>();
const verifyingKeys = new WeakMap<Uint8Array, KeyObject>();

/** X-Wing decapsulation key from its 32-byte seed: SHAKE256(seed, 96) = ML-KEM d ‖ z, then the X25519 key. */
function expand(seed: Uint8Array): ExpandedXWingKey {
  let expanded = expandedKeys.get(seed);
  if (expanded === undefined) {
    const stretched = shake256(seed, { dkLen: 64 + X25519_BYTES });
    const x25519 = createPrivateKey({
      key: Buffer.concat([X25519_PKCS8, stretched.subarray(64)]),
      format: 'der',
      type: 'pkcs8',
    });
    expanded = {
      mlKemSecretKey: ml_kem768.keygen(stretched.subarray(0, 64)).secretKey,
      x25519,
      x25519PublicKey: rawPublicKey(createPublicKey(x25519)),
    };
    stretched.fill(0);
    expandedKeys.set(seed, expanded);
  }
  return expanded;
}

function publicKeyOf(curve: 'X25519' | 'Ed25519', raw: Uint8Array): KeyObject {
  const x = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64url');
  return createPublicKey({ key: { kty: 'OKP', crv: curve, x }, format: 'jwk' });
}

function rawPublicKey(key: KeyObject): Uint8Array {
  return new Uint8Array(Buffer.from(key.export({ format: 'jwk' }).x ?? '', 'base64url'));
}

function combine(
  mlKemShared: Uint8Array,
  x25519Shared: Uint8Array,
  x25519Ciphertext: Uint8Array,
  x25519Recipient: Uint8Array,
): Uint8Array {
  return new Uint8Array(
    createHash('sha3-256')
      .update(mlKemShared)
      .update(x25519Shared)
      .update(x25519Ciphertext)
      .update(x25519Recipient)
      .update(XWING_LABEL)
      .digest(),
  );
}

export function xwingEncapsulate(publicKey: Uint8Array): {
  cipherText: Uint8Array;
  sharedSecret: Uint8Array;
} {
  const recipientX25519 = publicKey.subarray(ML_KEM_PUBLIC_KEY_BYTES);
  const mlKem = ml_kem768.encapsulate(publicKey.subarray(0, ML_KEM_PUBLIC_KEY_BYTES));
  const ephemeral = generateKeyPairSync('x25519');
  const x25519Ciphertext = rawPublicKey(ephemeral.publicKey);
  const x25519Shared = diffieHellman({
    privateKey: ephemeral.privateKey,
    publicKey: publicKeyOf('X25519', recipientX25519),
  });
  const sharedSecret = combine(mlKem.sharedSecret, x25519Shared, x25519Ciphertext, recipientX25519);
  mlKem.sharedSecret.fill(0);
  x25519Shared.fill(0);
  return { cipherText: concat(mlKem.cipherText, x25519Ciphertext), sharedSecret };
}

/** Throws on a ciphertext that is not valid X-Wing for this key (e.g. a low-order X25519 point). */
export function xwingDecapsulate(cipherText: Uint8Array, secretSeed: Uint8Array): Uint8Array {
  const key = expand(secretSeed);
  const x25519Ciphertext = cipherText.subarray(ML_KEM_CIPHERTEXT_BYTES);
  const mlKemShared = ml_kem768.decapsulate(
    cipherText.subarray(0, ML_KEM_CIPHERTEXT_BYTES),
    key.mlKemSecretKey,
  );
  const x25519Shared = diffieHellman({
    privateKey: key.x25519,
    publicKey: publicKeyOf('X25519', x25519Ciphertext),
  });
  const sharedSecret = combine(mlKemShared, x25519Shared, x25519Ciphertext, key.x25519PublicKey);
  mlKemShared.fill(0);
  x25519Shared.fill(0);
  return sharedSecret;
}

export function ed25519Sign(message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  let key = signingKeys.get(secretKey);
  if (key === undefined) {
    key = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8, secretKey]), format: 'der', type: 'pkcs8' });
    signingKeys.set(secretKey, key);
  }
  return new Uint8Array(sign(null, message, key));
}

/**
 * Strict RFC 8032 verification: S must be canonical (below L), so nobody but the signer can turn a valid
 * signature into other valid bytes; OpenSSL refuses non-canonical R and A encodings by itself.
 */
export function ed25519Verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== 64 || publicKey.length !== 32 || !belowOrder(signature.subarray(32))) return false;
  let key = verifyingKeys.get(publicKey);
  if (key === undefined) {
    try {
      key = publicKeyOf('Ed25519', publicKey);
    } catch {
      return false;
    }
    verifyingKeys.set(publicKey, key);
  }
  return verify(null, message, key, signature);
}

/** Little-endian comparison of a 32-byte scalar with the group order. */
function belowOrder(scalar: Uint8Array): boolean {
  for (let i = 31; i >= 0; i--) {
    if (scalar[i] !== ED25519_ORDER[i]) return scalar[i]! < ED25519_ORDER[i]!;
  }
  return false;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}
