import { EtsiClientError } from '../errors';
import { explain } from './explain';

const failed = (code: string, message: string) =>
  new EtsiClientError('connection', `GET /api/v1/keys/sae-bob/status: ${message}`, {
    cause: Object.assign(new Error(message), { code }),
  });

describe('the CLI explaining a client error', () => {
  it('asks whether the KME runs when the connection is refused', () => {
    expect(explain(failed('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:8443'))).toBe(
      'GET /api/v1/keys/sae-bob/status: connect ECONNREFUSED 127.0.0.1:8443 ' +
        '(is the KME running? npm start runs both KMEs of the example)',
    );
  });

  it("says a plain-HTTP port does not speak TLS, in place of OpenSSL's words", () => {
    const openssl =
      'write EPROTO 801C6201167F0000:error:0A00010B:SSL routines:ssl3_get_record:wrong version number';
    expect(explain(failed('EPROTO', openssl))).toBe(
      "GET /api/v1/keys/sae-bob/status: that port does not speak TLS; --kme must name the KME's https ETSI API",
    );
  });

  it('says the KME may have refused the client certificate when it closes the connection', () => {
    expect(explain(failed('ECONNRESET', 'socket hang up'))).toBe(
      'GET /api/v1/keys/sae-bob/status: socket hang up (the KME closed the connection: ' +
        'was the client certificate (--cert/--key, --p12) issued by its CA?)',
    );
  });

  it("says the KME's certificate is not from the CA given", () => {
    expect(explain(failed('SELF_SIGNED_CERT_IN_CHAIN', 'self-signed certificate in certificate chain'))).toBe(
      'GET /api/v1/keys/sae-bob/status: self-signed certificate in certificate chain ' +
        "(the KME's certificate is not from the CA in --ca, or the PKI's ca.pem)",
    );
  });

  it('leaves other errors as they are', () => {
    const timeout = new EtsiClientError('timeout', 'GET /x had no answer within 10000 ms');
    expect(explain(timeout)).toBe(timeout.message);
    expect(explain(failed('ENOTFOUND', 'getaddrinfo ENOTFOUND kme.example'))).toBe(
      'GET /api/v1/keys/sae-bob/status: getaddrinfo ENOTFOUND kme.example',
    );
  });
});
