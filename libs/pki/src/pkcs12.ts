import forge from 'node-forge';

export interface Pkcs12Contents {
  readonly friendlyName: string;
  readonly privateKeyPem: string;
  readonly certificatePem: string;
  readonly caCertificatePem: string;
}

/**
 * A PKCS#12 bundle (key, certificate, CA) protected by the EMPTY password, which is what
 * `openssl pkcs12 -passin pass:`, curl's `--cert-type P12` and Node's `pfx` with `passphrase: ''` expect.
 */
export function buildPkcs12(contents: Pkcs12Contents): Buffer {
  const asn1 = forge.pkcs12.toPkcs12Asn1(
    forge.pki.privateKeyFromPem(contents.privateKeyPem),
    [
      forge.pki.certificateFromPem(contents.certificatePem),
      forge.pki.certificateFromPem(contents.caCertificatePem),
    ],
    '',
    { algorithm: 'aes256', friendlyName: contents.friendlyName, generateLocalKeyId: true },
  );
  return Buffer.from(forge.asn1.toDer(asn1).getBytes(), 'binary');
}
