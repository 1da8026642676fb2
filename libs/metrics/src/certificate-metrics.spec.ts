import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

import { CertificateExpiry } from './certificate-metrics';

const fixture = (name: string) => readFileSync(path.join(__dirname, '../test/fixtures', name), 'utf8');
const notAfterSeconds = (pem: string) => Math.floor(Date.parse(new X509Certificate(pem).validTo) / 1000);

describe('CertificateExpiry', () => {
  const later = fixture('expires-in-ten-years.pem');
  const sooner = fixture('expires-in-thirty-days.pem');

  it('records when a certificate stops being valid', () => {
    const expiry = new CertificateExpiry();
    expiry.record('api-server', later);
    expect(expiry.notAfter().get('api-server')).toBe(notAfterSeconds(later));
  });

  // A CA bundle during a rollover, or a certificate with its chain: the second may expire first.
  it('records the first expiry of a bundle, wherever that certificate is in it', () => {
    const expiry = new CertificateExpiry();
    expiry.record('sae-ca', later + sooner);
    expiry.record('kme-ca', Buffer.from(sooner + later));
    expect(notAfterSeconds(sooner)).toBeLessThan(notAfterSeconds(later));
    expect(expiry.notAfter().get('sae-ca')).toBe(notAfterSeconds(sooner));
    expect(expiry.notAfter().get('kme-ca')).toBe(notAfterSeconds(sooner));
  });
});
