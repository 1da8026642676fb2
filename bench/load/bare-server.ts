/**
 * The baseline of the load benchmark: a bare Node HTTPS server with the ETSI API's TLS settings (the
 * development PKI's kme-east certificate, TLS >= 1.2, client certificate required) that reads each request
 * and answers 32 random bytes, base64, in a JSON body. Run by load.bench.ts as its own process, so it gets
 * a core of its own like the network does. Usage: node bare-server.js <pki dir>
 */
import { randomBytes } from 'node:crypto';
import https from 'node:https';
import type { AddressInfo } from 'node:net';

import { readMutualTlsServerOptions } from '@dqkd/pki';

export const LISTENING = 'bare server listening on port ';

async function main(): Promise<void> {
  const pkiDir = process.argv[2];
  if (pkiDir === undefined) throw new Error('usage: bare-server.js <pki dir>');
  const server = https.createServer(
    { ...(await readMutualTlsServerOptions(pkiDir, 'kme-east')), keepAliveTimeout: 60_000 },
    (request, response) => {
      // The body is drained like the gateway drains it, so both pay for reading the request.
      request.on('data', () => undefined);
      request.on('end', () => {
        const body = JSON.stringify({ key: randomBytes(32).toString('base64') });
        response.writeHead(200, {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        });
        response.end(body);
      });
    },
  );
  server.listen(0, '127.0.0.1', () => {
    process.stdout.write(`${LISTENING}${(server.address() as AddressInfo).port}\n`);
  });
  process.once('SIGTERM', () => {
    server.close();
    server.closeAllConnections();
  });
}

if (require.main === module) {
  void main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
