import type { EtsiClientError } from '../errors';

/**
 * A client error as the CLI prints it: a failed connection says what it most likely means, for someone
 * trying the embedded default, in place of OpenSSL's wording where that is all it gives.
 */
export function explain(error: EtsiClientError): string {
  if (error.code !== 'connection') return error.message;
  const cause = error.cause as NodeJS.ErrnoException | undefined;
  if (cause?.code === 'ECONNREFUSED') {
    return `${error.message} (is the KME running? npm start runs both KMEs of the example)`;
  }
  const request = error.message.split(': ')[0];
  if (cause?.code === 'EPROTO' && /wrong version number/.test(cause.message)) {
    return `${request}: that port does not speak TLS; --kme must name the KME's https ETSI API`;
  }
  // TLS 1.3 sends the client certificate after the client thinks the handshake is done: a KME refusing it
  // shows as a connection closed on the first request, or as the alert it sent.
  if (
    (cause?.code === 'ECONNRESET' && /socket hang up/.test(cause.message)) ||
    (cause?.code === 'EPROTO' &&
      /alert (unknown ca|bad certificate|certificate required)/.test(cause.message))
  ) {
    return `${error.message} (the KME closed the connection: was the client certificate (--cert/--key, --p12) issued by its CA?)`;
  }
  if (cause?.code !== undefined && /SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/.test(cause.code)) {
    return `${error.message} (the KME's certificate is not from the CA in --ca, or the PKI's ca.pem)`;
  }
  return error.message;
}
