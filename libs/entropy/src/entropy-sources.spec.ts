import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

import { ConfigError, type ProcessConfig } from '@dqkd/config';
import { ensureDevPki } from '@dqkd/pki';

import { loadKmeEntropyCredentials } from './entropy-sources';

describe('loadKmeEntropyCredentials', () => {
  let dir: string;
  const pkiDir = () => path.join(dir, 'pki');
  /** What the credentials read of a process's environment. */
  const configWith = (entropyCaFile?: string, pki = pkiDir()) =>
    ({
      env: { pkiDir: pki, kmeId: 'kme-east', http: { tls: undefined }, entropyCaFile },
    }) as unknown as ProcessConfig;

  // RSA keys take seconds on a busy machine: only kme-east's, and time for them.
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'dqkd-entropy-credentials-'));
    await ensureDevPki({ dir: pkiDir(), kmes: ['kme-east'], saes: [], entropyServers: [] });
  }, 60_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("checks the entropy servers against the PKI's CA by default", async () => {
    const credentials = await loadKmeEntropyCredentials(configWith());
    expect(credentials.tls.ca).toContain('-----BEGIN CERTIFICATE-----');
  });

  // The API's CA admits SAEs: an entropy server operator's CA in it could issue an SAE's certificate.
  it('checks them against DQKD_ENTROPY_CA_FILE when it is set, apart from the CA that admits SAEs', async () => {
    const entropyCa = path.join(dir, 'entropy-ca.pem');
    // The PKI's CA under a note of its own (PEM allows text before the block), so that the test sees which
    // file was read.
    const operatorCa = `# the entropy servers' operator CA\n${readFileSync(path.join(pkiDir(), 'ca.pem'), 'utf8')}`;
    writeFileSync(entropyCa, operatorCa);
    const credentials = await loadKmeEntropyCredentials(configWith(entropyCa));
    expect(credentials.tls.ca).toBe(operatorCa);
  });

  // Else the key-generator and replication would retry the entropy servers for ever, never connecting.
  it('stops with a ConfigError naming the variable when a PEM file holds a placeholder', async () => {
    const entropyCa = path.join(dir, 'placeholder-ca.pem');
    writeFileSync(entropyCa, 'REPLACE-ME: PEM CA certificate of the entropy servers');
    const attempt = loadKmeEntropyCredentials(configWith(entropyCa));
    await expect(attempt).rejects.toThrow(ConfigError);
    await expect(attempt).rejects.toThrow(
      `environment: DQKD_ENTROPY_CA_FILE: ${entropyCa} holds no PEM CA certificate`,
    );
  });

  it('stops with a ConfigError naming DQKD_HOME when the sealing identity there holds a placeholder', async () => {
    const home = mkdtempSync(path.join(tmpdir(), 'dqkd-entropy-sealing-'));
    try {
      cpSync(pkiDir(), home, { recursive: true });
      const file = path.join(home, 'kme-east.sealing.json');
      writeFileSync(file, 'REPLACE-ME: content of kme-east.sealing.json');
      const attempt = loadKmeEntropyCredentials(configWith(undefined, home));
      await expect(attempt).rejects.toThrow(ConfigError);
      await expect(attempt).rejects.toThrow(`environment: DQKD_HOME: ${file}`);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
