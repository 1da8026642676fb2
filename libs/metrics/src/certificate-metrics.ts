import { X509Certificate } from 'node:crypto';

import { Injectable, type Provider } from '@nestjs/common';

import { gaugeProvider } from './metrics.module';

/**
 * Defined by the gateways and the entropy servers, so one alert (DqkdCertificateExpiresSoon) watches the
 * certificates of both.
 */
export const CERTIFICATE_NOT_AFTER = 'dqkd_certificate_not_after_timestamp_seconds';

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;

/** The end of validity of the certificates a server loaded, as the certificate gauge reports them. */
@Injectable()
export class CertificateExpiry {
  private readonly notAfterSeconds = new Map<string, number>();

  /**
   * `pem`: a certificate, or a bundle (several CAs during a rollover, a certificate with its chain): the first
   * of them to expire is when it stops working.
   */
  record(certificate: string, pem: string | Buffer): void {
    const blocks = pem.toString().match(PEM_CERTIFICATE) ?? [pem];
    const notAfter = Math.min(...blocks.map((block) => Date.parse(new X509Certificate(block).validTo)));
    this.notAfterSeconds.set(certificate, Math.floor(notAfter / 1000));
  }

  notAfter(): ReadonlyMap<string, number> {
    return this.notAfterSeconds;
  }
}

/** The gauge of the `certificates` a server records in CertificateExpiry, and CertificateExpiry itself. */
export const certificateExpiryProviders = (certificates: readonly string[], help: string): Provider[] => [
  { provide: CertificateExpiry, useClass: CertificateExpiry },
  gaugeProvider({
    name: CERTIFICATE_NOT_AFTER,
    help,
    labels: { certificate: certificates },
    inject: [CertificateExpiry],
    collect: (gauge, expiry: CertificateExpiry) => {
      for (const [certificate, seconds] of expiry.notAfter()) gauge.set({ certificate }, seconds);
    },
  }),
];
