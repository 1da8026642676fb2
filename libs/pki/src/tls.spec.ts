import { issueCaCertificate, issueLeafCertificate } from './certificates';
import { generatePrivateKeyPem } from './keys';
import { certificateIdentity, tlsMaterialProblem, type TlsOptions } from './tls';

describe('certificateIdentity', () => {
  it('is the common name of the peer certificate', () => {
    expect(certificateIdentity({ subject: { CN: 'sae-alice' } })).toBe('sae-alice');
  });

  it('is undefined when the peer sent no certificate (Node gives an empty object)', () => {
    expect(certificateIdentity({})).toBeUndefined();
    expect(certificateIdentity(null)).toBeUndefined();
  });

  it('is undefined for an empty or repeated common name, which names no single SAE or KME', () => {
    expect(certificateIdentity({ subject: { CN: '' } })).toBeUndefined();
    expect(certificateIdentity({ subject: { CN: ['sae-alice', 'sae-bob'] } })).toBeUndefined();
  });
});

describe('tlsMaterialProblem', () => {
  const from = {
    cert: { file: '/run/tls/tls.crt', variable: 'DQKD_TLS_CERT_FILE' },
    key: { file: '/run/tls/tls.key', variable: 'DQKD_TLS_KEY_FILE' },
    ca: { file: '/run/tls/ca.crt', variable: 'DQKD_TLS_CA_FILE' },
  };
  let usable: TlsOptions;
  let otherKey: string;

  beforeAll(async () => {
    const [caKey, key, other] = await Promise.all([
      generatePrivateKeyPem(),
      generatePrivateKeyPem(),
      generatePrivateKeyPem(),
    ]);
    const ca = { privateKeyPem: caKey, certificatePem: issueCaCertificate(caKey) };
    const cert = issueLeafCertificate(ca, { id: 'kme-east', role: 'kme', privateKeyPem: key });
    usable = { cert, key, ca: ca.certificatePem };
    otherKey = other;
  });

  it('finds nothing wrong with a certificate, its key and a CA', () => {
    expect(tlsMaterialProblem(usable, from)).toBeUndefined();
  });

  it.each([
    ['cert', 'DQKD_TLS_CERT_FILE', '/run/tls/tls.crt holds no PEM certificate ('],
    ['key', 'DQKD_TLS_KEY_FILE', '/run/tls/tls.key holds no PEM private key ('],
    ['ca', 'DQKD_TLS_CA_FILE', '/run/tls/ca.crt holds no PEM CA certificate ('],
  ] as const)('names the variable of a %s left a placeholder', (part, variable, message) => {
    const material = { ...usable, [part]: 'REPLACE-ME: PEM of the KME' };
    expect(tlsMaterialProblem(material, from)).toEqual({
      variable,
      message: expect.stringContaining(message),
    });
  });

  it('finds nothing wrong with a chain in the certificate file and a bundle of CAs', () => {
    const chained = { ...usable, cert: `${usable.cert}${usable.ca}`, ca: `${usable.ca}${usable.cert}` };
    expect(tlsMaterialProblem(chained, from)).toBeUndefined();
  });

  it('checks only the parts given: a CA alone, or a certificate and key without a CA', () => {
    expect(tlsMaterialProblem({ ca: usable.ca }, { ca: from.ca })).toBeUndefined();
    expect(tlsMaterialProblem({ ca: 'REPLACE-ME' }, { ca: from.ca })).toEqual({
      variable: 'DQKD_TLS_CA_FILE',
      message: expect.stringContaining('/run/tls/ca.crt holds no PEM CA certificate ('),
    });
    const pair = { cert: usable.cert, key: otherKey };
    expect(tlsMaterialProblem(pair, { cert: from.cert, key: from.key })).toEqual({
      variable: 'DQKD_TLS_KEY_FILE',
      message: '/run/tls/tls.key is not the private key of the certificate in /run/tls/tls.crt',
    });
  });

  it("refuses a key that is not the certificate's", () => {
    expect(tlsMaterialProblem({ ...usable, key: otherKey }, from)).toEqual({
      variable: 'DQKD_TLS_KEY_FILE',
      message: '/run/tls/tls.key is not the private key of the certificate in /run/tls/tls.crt',
    });
  });
});
