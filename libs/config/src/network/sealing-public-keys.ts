import { z } from 'zod';

import { fieldPath } from '../field-path';
import { fsReason } from '../fs-reason';
import { schemaIssues, type SchemaIssue } from '../zod-issues';
import type { PublicKeysInput } from './network-schema';

/** A KME's public sealing identity: envelopes are sealed to its KEM key and verified with its signature key. */
export interface SealingPublicKeys {
  /** X-Wing (X25519 + ML-KEM-768) public key. */
  readonly kemPublicKey: Uint8Array;
  /** Ed25519 public key. */
  readonly sigPublicKey: Uint8Array;
}

export const X_WING_PUBLIC_KEY_BYTES = 1216;
export const ED25519_PUBLIC_KEY_BYTES = 32;

const base64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Strict RFC 4648 base64 with padding; Node's own decoder silently skips bad characters. */
export function decodeBase64(text: string): Uint8Array | undefined {
  if (!base64.test(text)) return undefined;
  return new Uint8Array(Buffer.from(text, 'base64'));
}

const publicFileSchema = z.strictObject({
  version: z.literal(1),
  kme_id: z.string(),
  kem: z.literal('X-Wing'),
  kem_public_key: z.string(),
  sig: z.literal('Ed25519'),
  sig_public_key: z.string(),
});

type Result = { readonly keys?: SealingPublicKeys; readonly issues: readonly SchemaIssue[] };

function decodeKey(
  text: string,
  bytes: number,
  algorithm: string,
  path: PropertyKey[],
): Uint8Array | SchemaIssue {
  const key = decodeBase64(text);
  if (!key)
    return {
      path,
      message: `must be standard base64 (RFC 4648, with padding) of an ${algorithm} public key`,
    };
  if (key.length !== bytes) {
    return { path, message: `an ${algorithm} public key is ${bytes} bytes, got ${key.length}` };
  }
  return key;
}

function decodeKeys(kem: string, sig: string, at: (field: string) => PropertyKey[]): Result {
  const kemPublicKey = decodeKey(kem, X_WING_PUBLIC_KEY_BYTES, 'X-Wing', at('kem_public_key'));
  const sigPublicKey = decodeKey(sig, ED25519_PUBLIC_KEY_BYTES, 'Ed25519', at('sig_public_key'));
  if (kemPublicKey instanceof Uint8Array && sigPublicKey instanceof Uint8Array) {
    return { keys: { kemPublicKey, sigPublicKey }, issues: [] };
  }
  return {
    issues: [kemPublicKey, sigPublicKey].filter((item): item is SchemaIssue => !(item instanceof Uint8Array)),
  };
}

function parsePublicFile(text: string, file: string, kmeId: string): Result {
  // Issues inside the referenced file are reported at public_keys, prefixed with that file's name.
  const inFile = (issues: readonly SchemaIssue[]): Result => ({
    issues: issues.map((issue) => ({
      path: ['public_keys'],
      message: `${file}: ${issue.path.length ? `${fieldPath(issue.path)}: ` : ''}${issue.message}`,
    })),
  });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return inFile([{ path: [], message: `malformed JSON: ${(error as Error).message}` }]);
  }
  if (json && typeof json === 'object' && ('kem_secret_key' in json || 'sig_secret_key' in json)) {
    return inFile([
      { path: [], message: 'holds secret keys; the network file must name the .sealing.pub.json file' },
    ]);
  }
  const parsed = publicFileSchema.safeParse(json, { reportInput: true });
  if (!parsed.success) return inFile(schemaIssues(parsed.error));
  if (parsed.data.kme_id !== kmeId) {
    return inFile([{ path: ['kme_id'], message: `belongs to KME "${parsed.data.kme_id}", not "${kmeId}"` }]);
  }
  const decoded = decodeKeys(parsed.data.kem_public_key, parsed.data.sig_public_key, (field) => [field]);
  return decoded.keys ? decoded : inFile(decoded.issues);
}

export interface PublicKeyFiles {
  /** Resolves a path written in the network file (relative to that file). */
  readonly resolve: (path: string) => string;
  readonly readFile: (resolvedPath: string) => string;
}

/** Decodes a KME's public keys, given inline or as a path to its `<kme>.sealing.pub.json`. */
export function resolvePublicKeys(input: PublicKeysInput, kmeId: string, files: PublicKeyFiles): Result {
  if (typeof input !== 'string') {
    return decodeKeys(input.kem_public_key, input.sig_public_key, (field) => ['public_keys', field]);
  }
  let text: string;
  try {
    text = files.readFile(files.resolve(input));
  } catch (error) {
    return { issues: [{ path: ['public_keys'], message: `cannot read ${input}: ${fsReason(error)}` }] };
  }
  return parsePublicFile(text, input, kmeId);
}
