import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

import type { ProcessConfig } from '@dqkd/config';
import { ensureDevPki } from '@dqkd/pki';

import { loadKmeEntropyCredentials } from './entropy-sources';

describe('loadKmeEntropyCredentials', () => {
  let dir: string;
  const pkiDir = () => path.join(dir, 'pki');
  /** What the credentials read of a process's environment. */
  const configWith = (entropyCaFile?: string) =>
    ({
      env: { pkiDir: pkiDir(), kmeId: 'kme-east', http: { tls: undefined }, entropyCaFile },
    }) as unknown as ProcessConfig;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'dqkd-entropy-credentials-'));
    await ensureDevPki({ dir: pkiDir() });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("checks the entropy servers against the PKI's CA by default", async () => {
    const credentials = await loadKmeEntropyCredentials(configWith());
    expect(credentials.tls.ca).toContain('-----BEGIN CERTIFICATE-----');
  });

  // The API's CA admits SAEs: an entropy server operator's CA in it could issue an SAE's certificate.
  it('checks them against DQKD_ENTROPY_CA_FILE when it is set, apart from the CA that admits SAEs', async () => {
    const entropyCa = path.join(dir, 'entropy-ca.pem');
    writeFileSync(entropyCa, 'the entropy servers operator CA');
    const credentials = await loadKmeEntropyCredentials(configWith(entropyCa));
    expect(credentials.tls.ca).toBe('the entropy servers operator CA');
  });
});
