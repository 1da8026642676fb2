import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';

import type { NetworkConfig, Sae } from '@dqkd/config';
import { fail, ok, type Result } from '@dqkd/etsi014';
import { certificateIdentity } from '@dqkd/pki';

// A kept-alive connection carries many requests with one certificate; parsing it once per connection saves
// a certificate decode per request.
const commonNames = new WeakMap<TLSSocket, string | undefined>();

/** The SAE calling, from its client certificate's CN; it must be attached to this KME. */
export function callerOf(request: IncomingMessage, network: NetworkConfig, kmeId: string): Result<Sae> {
  const socket = request.socket as TLSSocket;
  if (!commonNames.has(socket)) commonNames.set(socket, certificateIdentity(socket.getPeerCertificate()));
  const commonName = commonNames.get(socket);
  const sae = commonName === undefined ? undefined : network.saeByCertificateCn(commonName);
  if (sae === undefined) return fail({ kind: 'unauthenticated' });
  if (sae.kmeId !== kmeId) return fail({ kind: 'not-attached' });
  return ok(sae);
}
