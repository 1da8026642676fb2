import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

import { stringify } from 'yaml';

import { freshPublicKeys, validNetwork } from '../test/network-fixture';
import { ConfigError } from './config-error';
import { loadEntropyServerConfig } from './entropy-server-config';

describe('loadEntropyServerConfig', () => {
  let cwd: string;
  const base = { ENTROPY_SERVER_ID: 'entropy-2', DQKD_NETWORK_FILE: 'network.yaml' };

  function writeNetwork(alter: (network: ReturnType<typeof validNetwork>) => void = () => undefined): void {
    const network = validNetwork();
    network.entropy_servers = [1, 2, 3].map((n) => ({
      id: `entropy-${n}`,
      url: `https://127.0.0.1:710${n}`,
      certificate_cn: `entropy-${n}`,
      public_keys: freshPublicKeys(),
    }));
    alter(network);
    writeFileSync(path.join(cwd, 'network.yaml'), stringify(network));
  }

  function issuesOf(env: Record<string, string>): string[] {
    try {
      loadEntropyServerConfig(env, cwd);
    } catch (error) {
      if (error instanceof ConfigError) return error.message.split('\n');
      throw error;
    }
    throw new Error('expected a ConfigError');
  }

  beforeEach(() => {
    cwd = mkdtempSync(path.join(tmpdir(), 'dqkd-entropy-config-'));
    writeNetwork();
  });
  afterEach(() => rmSync(cwd, { recursive: true, force: true }));

  it('identifies the server by ENTROPY_SERVER_ID and listens on the port of its URL', () => {
    const config = loadEntropyServerConfig(base, cwd);
    expect(config.server).toMatchObject({ id: 'entropy-2', url: 'https://127.0.0.1:7102' });
    expect(config.server.sealing?.sigPublicKey).toHaveLength(32);
    expect(config.env.http.apiPort).toBe(7102);
    expect(loadEntropyServerConfig({ ...base, DQKD_API_PORT: '0' }, cwd).env.http.apiPort).toBe(0);
  });

  it('defaults to the CSPRNG, one-hour pools of 1 MiB and the sealing identity of the development PKI', () => {
    const { env } = loadEntropyServerConfig(base, cwd);
    expect(env.source).toEqual({ kind: 'csprng' });
    expect(env.pool).toEqual({
      bytes: 1024 * 1024,
      lifetimeMs: 3_600_000,
      ready: 2,
      memoryBytes: 256 * 1024 * 1024,
      leaseRateBytes: 2 * 1024 * 1024,
    });
    expect(env.sealingFile).toBe(path.join(cwd, '.dqkd', 'pki', 'entropy-2.sealing.json'));
  });

  it('XORs two sources named with "+" and resolves their files', () => {
    writeFileSync(path.join(cwd, 'token'), 'secret');
    const { env } = loadEntropyServerConfig(
      {
        ...base,
        ENTROPY_SOURCE: 'qrypt+device',
        ENTROPY_QRYPT_URL: 'https://qrng.example.net',
        ENTROPY_QRYPT_TOKEN_FILE: 'token',
        ENTROPY_DEVICE: 'random.bin',
      },
      cwd,
    );
    expect(env.source).toEqual({
      kind: 'xor',
      sources: [
        { kind: 'qrypt', url: 'https://qrng.example.net', tokenFile: path.join(cwd, 'token') },
        { kind: 'device', path: path.join(cwd, 'random.bin') },
      ],
    });
  });

  it('refuses an ENTROPY_SERVER_ID that is not an entropy server of the network file, naming them', () => {
    expect(issuesOf({ ...base, ENTROPY_SERVER_ID: 'kme-east' })).toEqual([
      'environment: ENTROPY_SERVER_ID: unknown entropy server "kme-east" (the network file defines entropy-1, entropy-2, entropy-3)',
    ]);
  });

  it('refuses to start without ENTROPY_SERVER_ID', () => {
    expect(issuesOf({ DQKD_NETWORK_FILE: 'network.yaml' })).toEqual([
      'environment: ENTROPY_SERVER_ID: required but not set',
    ]);
  });

  it('refuses a plain-http URL for this server, since it answers only over mutual TLS', () => {
    writeNetwork((network) => (network.entropy_servers[1].url = 'http://127.0.0.1:7102'));
    expect(issuesOf(base)).toEqual([
      'network.yaml: entropy_servers[1].url: must be an https:// URL: an entropy server answers only over mutual TLS',
    ]);
  });

  it('lets each KME lease half of what the pools refill at most, or ENTROPY_LEASE_RATE_BYTES', () => {
    const rateOf = (env: Record<string, string>) =>
      loadEntropyServerConfig({ ...base, ...env }, cwd).env.pool.leaseRateBytes;
    expect(rateOf({ ENTROPY_POOL_BYTES: '65536' })).toBe(131072);
    expect(rateOf({ ENTROPY_POOL_BYTES: '65536', ENTROPY_LEASE_RATE_BYTES: '4096' })).toBe(4096);
    expect(issuesOf({ ...base, ENTROPY_LEASE_RATE_BYTES: '0' })).toEqual([
      'environment: ENTROPY_LEASE_RATE_BYTES: must be a byte count a second from 1024 to 68719476736',
    ]);
  });

  // A larger lease is refused: every block would fail, and no pool would ever fill.
  it("refuses pools, or a KME's share of their memory, smaller than one block's sample", () => {
    writeNetwork((network) => {
      (network as Record<string, unknown>)['blast'] = { block_bits: 8388608 };
    });
    expect(issuesOf(base)).toEqual([
      'environment: ENTROPY_POOL_BYTES: must hold one sample of a block (1090320 bytes for block_bits 8388608 at h 1, the network file)',
    ]);
    expect(
      issuesOf({
        ...base,
        ENTROPY_POOL_BYTES: String(2 * 1024 * 1024),
        ENTROPY_POOL_MEMORY_BYTES: '4194304',
      }),
    ).toEqual([
      'environment: ENTROPY_POOL_MEMORY_BYTES: must hold, in the quarter one KME may hold, one sample of a block (1090320 bytes for block_bits 8388608 at h 1, the network file)',
    ]);
    expect(
      loadEntropyServerConfig({ ...base, ENTROPY_POOL_BYTES: String(2 * 1024 * 1024) }, cwd).env.pool.bytes,
    ).toBe(2 * 1024 * 1024);
  });

  it('refuses a pool memory that cannot hold the pools kept ready', () => {
    expect(
      issuesOf({
        ...base,
        ENTROPY_POOL_BYTES: '65536',
        ENTROPY_POOLS_READY: '4',
        ENTROPY_POOL_MEMORY_BYTES: '131072',
      }),
    ).toEqual([
      'environment: ENTROPY_POOL_MEMORY_BYTES: must hold at least ENTROPY_POOLS_READY pools of ENTROPY_POOL_BYTES',
    ]);
  });

  it('refuses an unknown source, a QRNG source without its URL and token, and pools that outlive an hour', () => {
    expect(issuesOf({ ...base, ENTROPY_SOURCE: 'dice' })).toEqual([
      'environment: ENTROPY_SOURCE: unknown source "dice" (one of csprng, qrypt, anu, device)',
    ]);
    expect(issuesOf({ ...base, ENTROPY_SOURCE: 'anu+csprng' })).toEqual([
      'environment: ENTROPY_ANU_URL: required with ENTROPY_SOURCE anu',
      'environment: ENTROPY_ANU_KEY_FILE: required with ENTROPY_SOURCE anu',
    ]);
    expect(issuesOf({ ...base, ENTROPY_POOL_SECONDS: '3601' })).toEqual([
      'environment: ENTROPY_POOL_SECONDS: must be a number of seconds from 1 to 3600',
    ]);
  });

  it('refuses a QRNG token file that does not exist', () => {
    const env = {
      ...base,
      ENTROPY_SOURCE: 'qrypt',
      ENTROPY_QRYPT_URL: 'https://qrng.example.net',
      ENTROPY_QRYPT_TOKEN_FILE: 'missing-token',
    };
    expect(issuesOf(env)).toEqual([
      'environment: ENTROPY_QRYPT_TOKEN_FILE: cannot read missing-token: ENOENT: no such file or directory',
    ]);
  });

  it("reports a bad signing key of an entropy server at that server's public_keys", () => {
    writeNetwork((network) => (network.entropy_servers[0].public_keys.sig_public_key = 'AAAA'));
    expect(issuesOf(base)[0]).toMatch(
      /^network\.yaml: entropy_servers\[0\]\.public_keys\.sig_public_key: an Ed25519 public key is 32 bytes, got 3/,
    );
  });
});
