import forge from 'node-forge';

import { issueCaCertificate, issueLeafCertificate } from './certificates';
import { generatePrivateKeyPem } from './keys';
import { buildPkcs12 } from './pkcs12';

function parse(bundle: Buffer, password: string): forge.pkcs12.Pkcs12Pfx {
  return forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(bundle.toString('binary')), password);
}

describe('buildPkcs12', () => {
  let caCertificatePem: string;
  let certificatePem: string;
  let privateKeyPem: string;
  let bundle: Buffer;

  beforeAll(async () => {
    const caKeyPem = await generatePrivateKeyPem();
    privateKeyPem = await generatePrivateKeyPem();
    caCertificatePem = issueCaCertificate(caKeyPem);
    certificatePem = issueLeafCertificate(
      { certificatePem: caCertificatePem, privateKeyPem: caKeyPem },
      { id: 'sae-alice', role: 'sae', privateKeyPem },
    );
    bundle = buildPkcs12({ friendlyName: 'sae-alice', privateKeyPem, certificatePem, caCertificatePem });
  });

  it('opens with the empty password and holds the SAE key', () => {
    const p12 = parse(bundle, '');
    const keyBags = p12.getBags({ bagType: forge.pki.oids.pkcs8ShroudedKeyBag })[
      forge.pki.oids.pkcs8ShroudedKeyBag
    ];
    expect(keyBags).toHaveLength(1);
    const key = keyBags?.[0].key as forge.pki.rsa.PrivateKey;
    expect(key.n.equals(forge.pki.privateKeyFromPem(privateKeyPem).n)).toBe(true);
  });

  it('holds the SAE certificate and the CA certificate', () => {
    const certBags =
      parse(bundle, '').getBags({ bagType: forge.pki.oids.certBag })[forge.pki.oids.certBag] ?? [];
    const pems = certBags.map((bag) => forge.pki.certificateToPem(bag.cert as forge.pki.Certificate));
    expect(pems.sort()).toEqual([certificatePem, caCertificatePem].sort());
  });

  it('names the key after the SAE', () => {
    const bags = parse(bundle, '').getBags({ friendlyName: 'sae-alice' }).friendlyName ?? [];
    expect(bags.length).toBeGreaterThanOrEqual(1);
  });

  it('refuses any other password', () => {
    expect(() => parse(bundle, 'secret')).toThrow(/MAC/i);
  });
});
