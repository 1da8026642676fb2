import { randomBytes } from 'node:crypto';

import forge from 'node-forge';

export type LeafRole = 'kme' | 'entropy-server' | 'sae';

export interface CertificateAuthority {
  readonly certificatePem: string;
  readonly privateKeyPem: string;
}

export interface LeafRequest {
  readonly id: string;
  readonly role: LeafRole;
  /** The leaf's own private key; only its public half goes into the certificate. */
  readonly privateKeyPem: string;
}

export const CA_COMMON_NAME = 'DQKD development CA';
const ORGANIZATION = 'DQKD';
const CA_VALIDITY_YEARS = 10;
const LEAF_VALIDITY_DAYS = 825;
// Backdated so that a peer whose clock runs a little behind still accepts a certificate issued just now.
const CLOCK_SKEW_MS = 5 * 60 * 1000;

// KMEs serve SAEs and also call the entropy servers as clients; entropy servers only serve; SAEs only call.
const EXTENDED_KEY_USAGE: Record<LeafRole, { serverAuth?: true; clientAuth?: true }> = {
  kme: { serverAuth: true, clientAuth: true },
  'entropy-server': { serverAuth: true },
  sae: { clientAuth: true },
};

const DNS = 2;
const IP = 7;

/** A self-signed CA certificate for `privateKeyPem`; reissuing it for the same key keeps earlier leaves valid. */
export function issueCaCertificate(privateKeyPem: string, now: Date = new Date()): string {
  const key = forge.pki.privateKeyFromPem(privateKeyPem);
  const cert = newCertificate(key, now);
  cert.validity.notAfter = new Date(now.getTime());
  cert.validity.notAfter.setUTCFullYear(now.getUTCFullYear() + CA_VALIDITY_YEARS);
  const subject = [
    { name: 'commonName', value: CA_COMMON_NAME },
    { name: 'organizationName', value: ORGANIZATION },
  ];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(key, forge.md.sha256.create());
  return forge.pki.certificateToPem(cert);
}

/** A leaf certificate signed by `ca`: CN = ID, SANs localhost, 127.0.0.1 and the ID, EKUs by role. */
export function issueLeafCertificate(
  ca: CertificateAuthority,
  leaf: LeafRequest,
  now: Date = new Date(),
): string {
  const caCert = forge.pki.certificateFromPem(ca.certificatePem);
  const caKey = forge.pki.privateKeyFromPem(ca.privateKeyPem);
  const cert = newCertificate(forge.pki.privateKeyFromPem(leaf.privateKeyPem), now);
  const notAfter = now.getTime() + LEAF_VALIDITY_DAYS * 24 * 60 * 60 * 1000;
  cert.validity.notAfter = new Date(Math.min(notAfter, caCert.validity.notAfter.getTime()));
  cert.setSubject([
    { name: 'commonName', value: leaf.id },
    { name: 'organizationName', value: ORGANIZATION },
    { name: 'organizationalUnitName', value: leaf.role },
  ]);
  cert.setIssuer(caCert.subject.attributes);
  const altNames =
    leaf.role === 'sae'
      ? [{ type: DNS, value: leaf.id }]
      : [
          { type: DNS, value: 'localhost' },
          { type: IP, ip: '127.0.0.1' },
          { type: DNS, value: leaf.id },
        ];
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', ...EXTENDED_KEY_USAGE[leaf.role] },
    { name: 'subjectAltName', altNames },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
  ]);
  cert.sign(caKey, forge.md.sha256.create());
  return forge.pki.certificateToPem(cert);
}

/** Whether `certificatePem` carries the signature of the CA in `caCertificatePem`. */
export function isIssuedBy(certificatePem: string, caCertificatePem: string): boolean {
  try {
    return forge.pki
      .certificateFromPem(caCertificatePem)
      .verify(forge.pki.certificateFromPem(certificatePem));
  } catch {
    return false;
  }
}

/** Whether the certificate's public key is the public half of `privateKeyPem`. */
export function certificateMatchesKey(certificatePem: string, privateKeyPem: string): boolean {
  const publicKey = forge.pki.certificateFromPem(certificatePem).publicKey as forge.pki.rsa.PublicKey;
  const privateKey = forge.pki.privateKeyFromPem(privateKeyPem);
  return publicKey.n.equals(privateKey.n) && publicKey.e.equals(privateKey.e);
}

function newCertificate(key: forge.pki.rsa.PrivateKey, now: Date): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
  cert.serialNumber = randomSerialNumber();
  cert.validity.notBefore = new Date(now.getTime() - CLOCK_SKEW_MS);
  return cert;
}

// RFC 5280: a positive integer of at most 20 octets; clearing the top bit keeps the DER encoding positive,
// setting the next one keeps the length fixed at 16 octets.
function randomSerialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] & 0x7f) | 0x40;
  return bytes.toString('hex');
}
