import { readFileSync } from 'node:fs';
import * as path from 'node:path';

import { EtsiClient } from '@dqkd/client';

/** An SAE's client certificate, key and the CA, from the development PKI under a DQKD_HOME. */
export function saeTls(home: string, sae: string): { cert: Buffer; key: Buffer; ca: Buffer } {
  const pki = path.join(home, 'pki');
  return {
    cert: readFileSync(path.join(pki, `${sae}.pem`)),
    key: readFileSync(path.join(pki, `${sae}.key`)),
    ca: readFileSync(path.join(pki, 'ca.pem')),
  };
}

/** The typed ETSI client of `sae` for the KME on `port` of 127.0.0.1. */
export function saeClient(home: string, sae: string, port: number): EtsiClient {
  return new EtsiClient({ baseUrl: `https://127.0.0.1:${port}`, ...saeTls(home, sae) });
}
