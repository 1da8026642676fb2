import { X509Certificate } from 'node:crypto';

import forge from 'node-forge';

import {
  CA_COMMON_NAME,
  certificateMatchesKey,
  isIssuedBy,
  issueCaCertificate,
  issueLeafCertificate,
  type CertificateAuthority,
  type LeafRole,
} from './certificates';
import { generatePrivateKeyPem } from './keys';

const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const DAY_MS = 24 * 60 * 60 * 1000;

function extension(pem: string, name: string): Record<string, unknown> | undefined {
  return forge.pki.certificateFromPem(pem).getExtension(name) as Record<string, unknown> | undefined;
}

describe('certificates', () => {
  const now = new Date('2030-01-15T12:00:00Z');
  let ca: CertificateAuthority;
  let leafKeyPem: string;

  beforeAll(async () => {
    const [caKeyPem, leafKey] = await Promise.all([generatePrivateKeyPem(), generatePrivateKeyPem()]);
    ca = { privateKeyPem: caKeyPem, certificatePem: issueCaCertificate(caKeyPem, now) };
    leafKeyPem = leafKey;
  });

  const leaf = (id: string, role: LeafRole): X509Certificate =>
    new X509Certificate(issueLeafCertificate(ca, { id, role, privateKeyPem: leafKeyPem }, now));

  describe('the CA certificate', () => {
    it('is self-signed with a CA common name', () => {
      const cert = new X509Certificate(ca.certificatePem);
      expect(cert.subject).toContain(`CN=${CA_COMMON_NAME}`);
      expect(cert.issuer).toBe(cert.subject);
      expect(cert.verify(cert.publicKey)).toBe(true);
    });

    it('marks basicConstraints CA:TRUE as critical', () => {
      expect(new X509Certificate(ca.certificatePem).ca).toBe(true);
      expect(extension(ca.certificatePem, 'basicConstraints')).toMatchObject({ cA: true, critical: true });
    });

    it('allows only certificate and CRL signing, as a critical keyUsage', () => {
      expect(extension(ca.certificatePem, 'keyUsage')).toMatchObject({
        critical: true,
        keyCertSign: true,
        cRLSign: true,
        digitalSignature: false,
        keyEncipherment: false,
      });
    });

    it('carries a subjectKeyIdentifier derived from its key', () => {
      const cert = forge.pki.certificateFromPem(ca.certificatePem);
      expect(cert.verifySubjectKeyIdentifier()).toBe(true);
    });

    it('is valid for ten years from a few minutes before issue', () => {
      const cert = new X509Certificate(ca.certificatePem);
      expect(new Date(cert.validFrom).getTime()).toBeLessThan(now.getTime());
      expect(new Date(cert.validFrom).getTime()).toBeGreaterThan(now.getTime() - DAY_MS);
      expect(new Date(cert.validTo).toISOString()).toBe('2040-01-15T12:00:00.000Z');
    });

    it('belongs to the key it was issued for, and to no other', () => {
      expect(certificateMatchesKey(ca.certificatePem, ca.privateKeyPem)).toBe(true);
      expect(certificateMatchesKey(ca.certificatePem, leafKeyPem)).toBe(false);
    });
  });

  describe('a KME certificate', () => {
    it('names the KME ID as common name', () => {
      expect(leaf('kme-east', 'kme').subject).toContain('CN=kme-east');
    });

    it('is good for both serverAuth and clientAuth, since KMEs also call the entropy servers', () => {
      expect(leaf('kme-east', 'kme').keyUsage?.sort()).toEqual([SERVER_AUTH, CLIENT_AUTH].sort());
    });

    it('lists localhost, 127.0.0.1 and the KME ID as subject alternative names', () => {
      expect(leaf('kme-east', 'kme').subjectAltName).toBe(
        'DNS:localhost, IP Address:127.0.0.1, DNS:kme-east',
      );
    });

    it('is signed by the CA, names it as issuer and is no CA itself', () => {
      const cert = leaf('kme-east', 'kme');
      expect(cert.checkIssued(new X509Certificate(ca.certificatePem))).toBe(true);
      expect(cert.verify(new X509Certificate(ca.certificatePem).publicKey)).toBe(true);
      expect(cert.ca).toBe(false);
      expect(extension(cert.toString(), 'keyUsage')).toMatchObject({ critical: true, keyCertSign: false });
    });

    it('points at the CA key through its authorityKeyIdentifier', () => {
      const caKeyId = forge.pki.certificateFromPem(ca.certificatePem).generateSubjectKeyIdentifier().toHex();
      const cert = leaf('kme-east', 'kme');
      const der = forge.asn1.fromDer(
        forge.util.createBuffer(extension(cert.toString(), 'authorityKeyIdentifier')?.value as string),
      );
      const keyIdentifier = (der.value as forge.asn1.Asn1[])[0].value as string;
      expect(forge.util.bytesToHex(keyIdentifier)).toBe(caKeyId);
    });

    it('is valid for 825 days', () => {
      expect(new Date(leaf('kme-east', 'kme').validTo).getTime()).toBe(now.getTime() + 825 * DAY_MS);
    });
  });

  describe('an entropy server certificate', () => {
    it('is good for serverAuth only', () => {
      expect(leaf('entropy-1', 'entropy-server').keyUsage).toEqual([SERVER_AUTH]);
    });

    it('names the server ID as common name and SAN, beside localhost and 127.0.0.1', () => {
      const cert = leaf('entropy-1', 'entropy-server');
      expect(cert.subject).toContain('CN=entropy-1');
      expect(cert.subjectAltName).toBe('DNS:localhost, IP Address:127.0.0.1, DNS:entropy-1');
    });
  });

  describe('an SAE certificate', () => {
    it('is good for clientAuth only', () => {
      expect(leaf('sae-alice', 'sae').keyUsage).toEqual([CLIENT_AUTH]);
    });

    it('carries the SAE ID as common name and as its only DNS SAN', () => {
      const cert = leaf('sae-alice', 'sae');
      expect(cert.subject).toContain('CN=sae-alice');
      expect(cert.subjectAltName).toBe('DNS:sae-alice');
    });
  });

  describe('leaf validity', () => {
    it('never outlasts the CA that signs it', () => {
      const late = new Date(now.getTime() + 3600 * DAY_MS);
      const cert = new X509Certificate(
        issueLeafCertificate(ca, { id: 'kme-late', role: 'kme', privateKeyPem: leafKeyPem }, late),
      );
      expect(cert.validTo).toBe(new X509Certificate(ca.certificatePem).validTo);
    });
  });

  describe('isIssuedBy', () => {
    it('tells a certificate of this CA from one of a foreign CA', async () => {
      const foreignKey = await generatePrivateKeyPem();
      const foreign: CertificateAuthority = {
        privateKeyPem: foreignKey,
        certificatePem: issueCaCertificate(foreignKey),
      };
      const ours = issueLeafCertificate(ca, { id: 'sae-bob', role: 'sae', privateKeyPem: leafKeyPem });
      const theirs = issueLeafCertificate(foreign, { id: 'sae-bob', role: 'sae', privateKeyPem: leafKeyPem });
      expect(isIssuedBy(ours, ca.certificatePem)).toBe(true);
      expect(isIssuedBy(theirs, ca.certificatePem)).toBe(false);
    });

    it('keeps leaves valid when the CA certificate is reissued for the same key', () => {
      const ours = issueLeafCertificate(ca, { id: 'sae-bob', role: 'sae', privateKeyPem: leafKeyPem });
      expect(isIssuedBy(ours, issueCaCertificate(ca.privateKeyPem))).toBe(true);
    });
  });

  describe('serial numbers', () => {
    it('differ between certificates and are positive 16-byte integers', () => {
      const serials = [1, 2, 3].map(
        () =>
          new X509Certificate(
            issueLeafCertificate(ca, { id: 'sae-x', role: 'sae', privateKeyPem: leafKeyPem }),
          ).serialNumber,
      );
      expect(new Set(serials).size).toBe(3);
      for (const serial of serials) {
        expect(serial).toMatch(/^[4-7][0-9A-F]{31}$/);
      }
    });
  });
});
