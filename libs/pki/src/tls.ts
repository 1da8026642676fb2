import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';

import { CA_CERTIFICATE_FILE, certificateFile, privateKeyFile } from './paths';

/** PEM texts in the shape `https.createServer`, `https.request` and `tls.connect` take. */
export interface TlsOptions {
  readonly key: string;
  readonly cert: string;
  readonly ca: string;
}

/**
 * The cipher suites DQKD's endpoints speak: TLS 1.3's, and in TLS 1.2 only ECDHE key exchange (forward
 * secrecy) with AEAD ciphers. Node's default list also admits RSA key exchange (a leaked server key opens
 * every recorded session), finite-field DHE and CBC ciphers with their padding-oracle history.
 */
const TLS_CIPHERS = [
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'TLS_AES_128_GCM_SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
].join(':');

/** The protocol versions and cipher suites of every DQKD TLS endpoint, server or client. */
export const TLS_POLICY = { minVersion: 'TLSv1.2', ciphers: TLS_CIPHERS } as const;

/**
 * How long a connection may take to finish its handshake. Node's default, 120 s, let a client that sends
 * nothing (no certificate needed for that) hold a socket two minutes; a handshake takes a few round trips.
 */
export const HANDSHAKE_TIMEOUT_MS = 10_000;

/** Every DQKD mutual-TLS server: a client certificate from the CA, the TLS policy, a bounded handshake. */
export const MUTUAL_TLS_SERVER = {
  requestCert: true,
  rejectUnauthorized: true,
  ...TLS_POLICY,
  handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
} as const;

/** Where one PEM text of a TlsOptions came from: the file read and the variable that chose it. */
export interface PemSource {
  readonly file: string;
  readonly variable: string;
}

/** What is wrong with TLS material, naming the variable to fix. */
export interface TlsMaterialProblem {
  readonly variable: string;
  readonly message: string;
}

/**
 * Why TLS material cannot serve, undefined when it can: the certificate, the (first) CA certificate and the key
 * must parse, and the key must be the certificate's. A part left out (a client that only trusts a CA, say) is
 * not looked at; each part given comes with its source in `from`. Checked when the material is read, so that
 * a placeholder left in a mounted secret or a key of another certificate stops the process at start-up, where
 * it would otherwise fail every handshake later (or, for a client, every connection, retried for ever).
 */
export function tlsMaterialProblem(
  given: Partial<TlsOptions>,
  from: Partial<TlsSources>,
): TlsMaterialProblem | undefined {
  const source = (part: keyof TlsOptions): PemSource => from[part] ?? { file: part, variable: part };
  const problem = (part: keyof TlsOptions, what: string, error?: unknown): TlsMaterialProblem => {
    // Node's crypto errors come from another realm under Jest: read the message, not the prototype.
    const text = (error as { message?: unknown } | undefined)?.message;
    const reason = typeof text === 'string' ? ` (${text})` : '';
    return { variable: source(part).variable, message: `${source(part).file} holds no ${what}${reason}` };
  };
  let certificate: X509Certificate | undefined;
  let key: KeyObject | undefined;
  try {
    if (given.cert !== undefined) certificate = new X509Certificate(given.cert);
  } catch (error) {
    return problem('cert', 'PEM certificate', error);
  }
  try {
    // Parsed only: a version 1 root (as `openssl x509 -req -signkey` makes) carries no CA flag, and serves.
    if (given.ca !== undefined) void new X509Certificate(given.ca);
  } catch (error) {
    return problem('ca', 'PEM CA certificate', error);
  }
  try {
    if (given.key !== undefined) key = createPrivateKey(given.key);
  } catch (error) {
    return problem('key', 'PEM private key', error);
  }
  if (certificate === undefined || key === undefined || certificate.checkPrivateKey(key)) return undefined;
  return {
    variable: source('key').variable,
    message: `${source('key').file} is not the private key of the certificate in ${source('cert').file}`,
  };
}

export type MutualTlsServerOptions = TlsOptions & typeof MUTUAL_TLS_SERVER;

/** The key, certificate and trusted CA of `id` (a KME, entropy server or SAE) from a PKI folder. */
export async function readTlsOptions(pkiDir: string, id: string): Promise<TlsOptions> {
  return readTlsMaterial(tlsSources(pkiDir, id, undefined));
}

/** The files of a TLS identity, each with the variable that chose it. */
export type TlsSources = { readonly [part in keyof TlsOptions]: PemSource };

/**
 * Where the TLS identity of `id` (a KME or an entropy server) comes from: the files DQKD_TLS_CERT_FILE,
 * DQKD_TLS_KEY_FILE and DQKD_TLS_CA_FILE name (the CA, when unset, and all three without `files`, from the PKI
 * folder under DQKD_HOME).
 */
export function tlsSources(
  pkiDir: string,
  id: string,
  files: { readonly certFile: string; readonly keyFile: string; readonly caFile?: string } | undefined,
): TlsSources {
  const inPki = (name: string) => ({ file: path.join(pkiDir, name), variable: 'DQKD_HOME' });
  return {
    cert: files ? { file: files.certFile, variable: 'DQKD_TLS_CERT_FILE' } : inPki(certificateFile(id)),
    key: files ? { file: files.keyFile, variable: 'DQKD_TLS_KEY_FILE' } : inPki(privateKeyFile(id)),
    ca: files?.caFile ? { file: files.caFile, variable: 'DQKD_TLS_CA_FILE' } : inPki(CA_CERTIFICATE_FILE),
  };
}

/** Reads the three files; tlsMaterialProblem says whether they can serve. */
export async function readTlsMaterial(from: TlsSources): Promise<TlsOptions> {
  const [cert, key, ca] = await Promise.all([
    readFile(from.cert.file, 'utf8'),
    readFile(from.key.file, 'utf8'),
    readFile(from.ca.file, 'utf8'),
  ]);
  return { cert, key, ca };
}

/** Server options that complete a handshake only with a client certificate issued by the PKI's CA. */
export async function readMutualTlsServerOptions(
  pkiDir: string,
  id: string,
): Promise<MutualTlsServerOptions> {
  return { ...(await readTlsOptions(pkiDir, id)), ...MUTUAL_TLS_SERVER };
}

/** The subset of Node's `PeerCertificate` this library reads; `{}` is what Node gives for "no certificate". */
export interface PeerCertificateLike {
  readonly subject?: { readonly CN?: string | readonly string[] };
}

/**
 * The common name of a TLS peer's certificate: the SAE or KME ID it was issued to. Undefined when there is
 * no certificate or no single common name. Trust it only on an authorized socket (`socket.authorized`).
 */
export function certificateIdentity(
  peerCertificate: PeerCertificateLike | null | undefined,
): string | undefined {
  const commonName = peerCertificate?.subject?.CN;
  return typeof commonName === 'string' && commonName !== '' ? commonName : undefined;
}
