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
  if (cause?.code === 'EPROTO' && /wrong version number/.test(cause.message)) {
    const request = error.message.split(': ')[0];
    return `${request}: that port does not speak TLS; --kme must name the KME's https ETSI API`;
  }
  return error.message;
}
