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

export interface MutualTlsServerOptions extends TlsOptions {
  readonly requestCert: true;
  readonly rejectUnauthorized: true;
  readonly minVersion: 'TLSv1.2';
  readonly ciphers: string;
}

/** The key, certificate and trusted CA of `id` (a KME, entropy server or SAE) from a PKI folder. */
export async function readTlsOptions(pkiDir: string, id: string): Promise<TlsOptions> {
  const [key, cert, ca] = await Promise.all([
    readFile(path.join(pkiDir, privateKeyFile(id)), 'utf8'),
    readFile(path.join(pkiDir, certificateFile(id)), 'utf8'),
    readFile(path.join(pkiDir, CA_CERTIFICATE_FILE), 'utf8'),
  ]);
  return { key, cert, ca };
}

/** Server options that complete a handshake only with a client certificate issued by the PKI's CA. */
export async function readMutualTlsServerOptions(
  pkiDir: string,
  id: string,
): Promise<MutualTlsServerOptions> {
  return {
    ...(await readTlsOptions(pkiDir, id)),
    requestCert: true,
    rejectUnauthorized: true,
    ...TLS_POLICY,
  };
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
