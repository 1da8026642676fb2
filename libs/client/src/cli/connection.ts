import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { createSecureContext, type SecureContextOptions } from 'node:tls';

import { loadNetworkFile } from '@dqkd/config';

import type { EtsiClientOptions } from '../etsi-client';
import { CliUsageError, type Connection } from './args';

/**
 * The KME URL and certificate files of a connection, defaults filled in from DQKD_HOME. A file that cannot be
 * read, or a URL that is not https, is a usage error naming the flag it came from (or the default it took).
 */
export function clientOptions(connection: Connection): EtsiClientOptions {
  const pki = path.join(connection.home, 'pki');
  const read = (flag: string, given: string | undefined, fallback: string) => {
    const file = path.resolve(given ?? fallback);
    try {
      return readFileSync(file);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? String(error);
      if (given !== undefined) throw new CliUsageError(`${flag}: cannot read ${file}: ${code}`);
      throw new CliUsageError(
        `${flag} (default under --home ${connection.home}): cannot read ${file}: ${code}; run dqkd where ` +
          'npm start runs, or name its home with --home',
      );
    }
  };
  const ca = read('--ca', connection.ca, path.join(pki, 'ca.pem'));
  // parseCommand asks for --sae unless both the certificate and --kme are given.
  const sae = connection.sae ?? '';
  const baseUrl =
    connection.kmeUrl ?? kmeUrlOf(sae, connection.networkFile ?? path.join(connection.home, 'network.yaml'));
  if (!/^https:\/\//i.test(baseUrl)) {
    throw new CliUsageError(
      `the KME URL (--kme, or the api_url in network.yaml) must be https://, not ${baseUrl}`,
    );
  }
  if (connection.p12 !== undefined) {
    const pfx = read('--p12', connection.p12, '');
    loads(`--p12 ${connection.p12} (PKCS#12 with an empty password)`, { pfx, passphrase: '' });
    return { baseUrl, pfx, passphrase: '', ca };
  }
  const cert = read('--cert', connection.cert, path.join(pki, `${sae}.pem`));
  const key = read('--key', connection.key, path.join(pki, `${sae}.key`));
  loads('the certificate and key (PEM)', { cert, key });
  return { baseUrl, cert, key, ca };
}

/** Loads the client identity as TLS will, so a wrong file is told before any request, with what it is. */
function loads(what: string, options: SecureContextOptions): void {
  try {
    createSecureContext(options);
  } catch (error) {
    throw new CliUsageError(`${what} does not load: ${(error as Error).message}`);
  }
}

function kmeUrlOf(sae: string, file: string): string {
  let network;
  try {
    network = loadNetworkFile(file);
  } catch (error) {
    throw new CliUsageError(
      `${(error as Error).message}: run the CLI where npm start runs, or pass --home, or name the KME with --kme`,
    );
  }
  const kme = network.kmeOf(sae);
  if (!kme) throw new CliUsageError(`${sae} is not an SAE of ${file}; name the KME with --kme`);
  return kme.apiUrl;
}
