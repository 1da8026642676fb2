import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

import { writeSealingPubFiles } from '../test/network-fixture';
import { ConfigError } from './config-error';
import { loadNetworkFile, loadProcessConfig } from './process-config';

const example = path.resolve(__dirname, '../../../config/network.example.yaml');

describe('loadProcessConfig', () => {
  let cwd: string;
  const site = { KME_ID: 'kme-east', DQKD_NETWORK_FILE: 'config/network.yaml' };

  function issuesOf(env: Record<string, string>): string[] {
    try {
      loadProcessConfig(env, cwd);
    } catch (error) {
      if (error instanceof ConfigError) return error.message.split('\n');
      throw error;
    }
    throw new Error('expected a ConfigError');
  }

  // A site laid out like the repository: the example network file and a development PKI beside it.
  beforeEach(() => {
    cwd = mkdtempSync(path.join(tmpdir(), 'dqkd-config-'));
    mkdirSync(path.join(cwd, 'config'));
    copyFileSync(example, path.join(cwd, 'config', 'network.yaml'));
    writeSealingPubFiles(path.join(cwd, '.dqkd', 'pki'), [
      'kme-east',
      'kme-west',
      'entropy-1',
      'entropy-2',
      'entropy-3',
    ]);
  });
  afterEach(() => rmSync(cwd, { recursive: true, force: true }));

  it('accepts the example network file', () => {
    const { network } = loadProcessConfig(site, cwd);
    expect(network.kmes.map((kme) => kme.id)).toEqual(['kme-east', 'kme-west']);
    expect(network.saesOf('kme-west').map((sae) => sae.id)).toEqual(['sae-bob', 'sae-carol']);
    expect(network.linkLimits('kme-west', 'kme-east')).toMatchObject({
      keySize: 512,
      highWatermarkBits: 8388608,
    });
    expect(network.linkLimits('kme-east', 'kme-west')).toMatchObject({
      keySize: 256,
      highWatermarkBits: 16777216,
    });
  });

  it("takes the API port from this KME's api_url unless DQKD_API_PORT is set", () => {
    expect(loadProcessConfig({ ...site, KME_ID: 'kme-west' }, cwd).env.http.apiPort).toBe(9443);
    expect(loadProcessConfig({ ...site, DQKD_API_PORT: '0' }, cwd).env.http.apiPort).toBe(0);
  });

  it('refuses a KME_ID that is not a KME of the network file', () => {
    expect(issuesOf({ ...site, KME_ID: 'kme-north' })).toEqual([
      'environment: KME_ID: unknown KME "kme-north" (the network file defines kme-east, kme-west)',
    ]);
  });

  it('refuses an SAE ID as KME_ID', () => {
    expect(issuesOf({ ...site, KME_ID: 'sae-alice' })[0]).toContain('KME_ID: unknown KME "sae-alice"');
  });

  it('refuses DATABASE_URL without DQKD_KEK or DQKD_KEK_FILE', () => {
    expect(issuesOf({ ...site, DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/dqkd' })).toEqual([
      'environment: DQKD_KEK: DATABASE_URL is set, so DQKD_KEK or DQKD_KEK_FILE must hold the key-encryption keyring',
    ]);
  });

  it('refuses a network file that cannot be read', () => {
    expect(issuesOf({ ...site, DQKD_NETWORK_FILE: 'config/missing.yaml' })).toEqual([
      'environment: DQKD_NETWORK_FILE: cannot read config/missing.yaml: ENOENT: no such file or directory',
    ]);
  });

  it('refuses a file variable naming a missing file or a folder', () => {
    const env = {
      ...site,
      DATABASE_URL: 'postgres://db/dqkd',
      DQKD_KEK_FILE: 'kek',
      DQKD_TLS_CERT_FILE: 'config',
    };
    expect(issuesOf({ ...env, DQKD_TLS_KEY_FILE: 'config/network.yaml' })).toEqual([
      'environment: DQKD_KEK_FILE: cannot read kek: ENOENT: no such file or directory',
      'environment: DQKD_TLS_CERT_FILE: config is not a regular file',
    ]);
  });

  it('reads a keyring file on every call, so a rotated secret is picked up', () => {
    const file = path.join(cwd, 'kek');
    writeFileSync(file, '1:AAAA\n');
    const { env } = loadProcessConfig(
      { ...site, DATABASE_URL: 'postgres://db/dqkd', DQKD_KEK_FILE: 'kek' },
      cwd,
    );
    expect(env.database.kek?.read()).toBe('1:AAAA');
    writeFileSync(file, '1:AAAA,2:BBBB\n');
    expect(env.database.kek?.read()).toBe('1:AAAA,2:BBBB');
  });

  it('reports environment and network file issues together, naming each source', () => {
    writeFileSync(
      path.join(cwd, 'config', 'network.yaml'),
      readFileSync(example, 'utf8').replace('kme: kme-east', 'kme: kme-north'),
    );
    expect(issuesOf({ ...site, LOG_LEVEL: 'loud' })).toEqual([
      expect.stringMatching(/^environment: LOG_LEVEL: must be one of /),
      expect.stringMatching(/^config\/network\.yaml: saes\[0\]\.kme: unknown KME "kme-north" \(line \d+\)$/),
    ]);
  });

  it('returns a frozen configuration', () => {
    const config = loadProcessConfig(site, cwd);
    expect(Object.isFrozen(config.env)).toBe(true);
    expect(Object.isFrozen(config.env.http)).toBe(true);
    expect(Object.isFrozen(config.env.nats)).toBe(true);
  });
});

describe('loadNetworkFile', () => {
  it('names the file as given when it cannot be read', () => {
    expect(() => loadNetworkFile('config/missing.yaml', tmpdir())).toThrow(
      'config/missing.yaml: cannot read: ENOENT: no such file or directory',
    );
  });
});
