import { X509Certificate } from 'node:crypto';

import { Injectable } from '@nestjs/common';

/** The end of validity of the certificates the API server loaded, as the certificate gauge reports them. */
@Injectable()
export class CertificateExpiry {
  private readonly notAfterSeconds = new Map<string, number>();

  /** `pem`: a certificate, or a bundle whose first certificate is the one that expires. */
  record(certificate: 'api-server' | 'sae-ca', pem: string | Buffer): void {
    const notAfter = Date.parse(new X509Certificate(pem).validTo);
    this.notAfterSeconds.set(certificate, Math.floor(notAfter / 1000));
  }

  notAfter(): ReadonlyMap<string, number> {
    return this.notAfterSeconds;
  }
}
