import { once } from 'node:events';
import { connect } from 'node:net';
import tls from 'node:tls';

import type { TlsOptions } from '../src';

/**
 * TLS 1.2 offers every DQKD endpoint must refuse, each the one suite the client offers (see TLS_CIPHERS):
 * why, and the suite.
 */
export const REFUSED_TLS12_SUITES: readonly (readonly [string, string])[] = [
  ['RSA key exchange, without forward secrecy', 'AES128-GCM-SHA256'],
  ['finite-field Diffie-Hellman', 'DHE-RSA-AES128-GCM-SHA256'],
  ['a CBC cipher', 'ECDHE-RSA-AES128-SHA256'],
];

/** A TLS 1.2 suite every DQKD endpoint takes from the development PKI's RSA certificates. */
export const ACCEPTED_TLS12_SUITE = 'ECDHE-RSA-AES128-GCM-SHA256';

export type Handshake =
  | { readonly ok: true; readonly protocol: string; readonly cipher: string }
  | { readonly ok: false; readonly error: string };

/**
 * A TLS handshake with 127.0.0.1:`port` as the client `identity`, offering only what `offer` allows: the
 * protocol and suite agreed, or why there was none.
 */
export function handshake(
  port: number,
  identity: TlsOptions,
  offer: Pick<tls.ConnectionOptions, 'ciphers' | 'minVersion' | 'maxVersion'>,
): Promise<Handshake> {
  return new Promise((resolve) => {
    // The certificate chain is checked, not the server's name: what is tested here is the suites.
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      ...identity,
      ...offer,
      checkServerIdentity: () => undefined,
    });
    socket.setTimeout(5_000, () => socket.destroy(new Error('handshake timed out')));
    socket.once('secureConnect', () => {
      resolve({
        ok: true,
        protocol: socket.getProtocol() ?? '',
        cipher: socket.getCipher().standardName,
      });
      socket.end();
    });
    socket.once('error', (error: NodeJS.ErrnoException) =>
      resolve({ ok: false, error: error.code ?? error.message }),
    );
  });
}

/**
 * Opens a TCP connection to `port` on 127.0.0.1 and says nothing, as anyone can without a certificate:
 * answers after how many milliseconds the server closed it, or 'still open' once `waitMs` passed.
 */
export async function closedWhenSilent(port: number, waitMs: number): Promise<number | 'still open'> {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  const opened = Date.now();
  try {
    return await Promise.race([
      once(socket, 'close').then(() => Date.now() - opened),
      new Promise<'still open'>((resolve) => setTimeout(() => resolve('still open'), waitMs)),
    ]);
  } finally {
    socket.destroy();
  }
}
