import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

import { loadNetworkFile, type NetworkConfig } from '@dqkd/config';
import {
  encodeSealingIdentity,
  encodeSealingPublicKeys,
  ensureDevPki,
  generateSealingIdentity,
  loadSealingIdentity,
  readTlsOptions,
  sealingIdentityFile,
  sealingPublicKeysFile,
} from '@dqkd/pki';

import type { KmeEntropyCredentials } from '../src';

export interface EntropyNetworkOptions {
  readonly kmes?: readonly string[];
  readonly servers?: readonly string[];
  /** Client certificates of the PKI that name no KME. */
  readonly saes?: readonly string[];
  /** SAEs written into the network file, each attached to its KME, with client certificates. */
  readonly attachedSaes?: Readonly<Record<string, string>>;
  readonly blockBits?: number;
}

/**
 * A throwaway folder with a development PKI (KMEs, entropy servers, and their sealing identities) and a
 * network file whose entropy servers listen on free 127.0.0.1 ports, for tests and the benchmark.
 */
export class EntropyNetwork {
  private constructor(
    readonly dir: string,
    readonly pkiDir: string,
    readonly networkFile: string,
    readonly network: NetworkConfig,
  ) {}

  static async create(options: EntropyNetworkOptions = {}): Promise<EntropyNetwork> {
    const kmes = options.kmes ?? ['kme-east', 'kme-west', 'kme-north'];
    const servers = options.servers ?? ['entropy-1', 'entropy-2', 'entropy-3'];
    const dir = mkdtempSync(path.join(tmpdir(), 'dqkd-entropy-'));
    const pkiDir = path.join(dir, '.dqkd', 'pki');
    const attached = Object.entries(options.attachedSaes ?? {});
    const saes = [...(options.saes ?? []), ...attached.map(([id]) => id)];
    await ensureDevPki({ dir: pkiDir, kmes, saes, entropyServers: servers });
    // The development PKI makes sealing identities for KMEs only; entropy servers get theirs here.
    for (const id of servers) {
      const identity = generateSealingIdentity(id);
      writeFileSync(path.join(pkiDir, sealingIdentityFile(id)), encodeSealingIdentity(identity), {
        mode: 0o600,
      });
      writeFileSync(path.join(pkiDir, sealingPublicKeysFile(id)), encodeSealingPublicKeys(identity));
    }
    const ports = await freePorts(servers.length);
    const yaml = [
      'version: 1',
      'kmes:',
      ...kmes.flatMap((id, i) => [
        `  - id: ${id}`,
        `    site: ${id}`,
        `    api_url: https://127.0.0.1:${8443 + i}`,
        `    public_keys: ../.dqkd/pki/${sealingPublicKeysFile(id)}`,
      ]),
      ...(attached.length === 0
        ? ['saes: []']
        : [
            'saes:',
            ...attached.flatMap(([id, kme]) => [
              `  - id: ${id}`,
              `    certificate_cn: ${id}`,
              `    kme: ${kme}`,
            ]),
          ]),
      'entropy_servers:',
      ...servers.flatMap((id, i) => [
        `  - id: ${id}`,
        `    url: https://127.0.0.1:${ports[i]}`,
        `    certificate_cn: ${id}`,
        `    public_keys: ../.dqkd/pki/${sealingPublicKeysFile(id)}`,
      ]),
      'blast:',
      `  t: ${servers.length}`,
      `  block_bits: ${options.blockBits ?? 65536}`,
      '',
    ].join('\n');
    mkdirSync(path.join(dir, 'config'));
    const networkFile = path.join(dir, 'config', 'network.yaml');
    writeFileSync(networkFile, yaml);
    return new EntropyNetwork(dir, pkiDir, networkFile, loadNetworkFile(networkFile));
  }

  /** The environment of one entropy server process, on the CSPRNG, with small pools. */
  serverEnv(id: string, extra: Record<string, string> = {}): Record<string, string> {
    return {
      ENTROPY_SERVER_ID: id,
      DQKD_NETWORK_FILE: this.networkFile,
      DQKD_HOME: path.join(this.dir, '.dqkd'),
      DQKD_HEALTH_PORT: '0',
      ENTROPY_POOL_BYTES: String(1024 * 1024),
      LOG_LEVEL: 'info',
      ...extra,
    };
  }

  async credentials(kmeId: string): Promise<KmeEntropyCredentials> {
    return {
      tls: await readTlsOptions(this.pkiDir, kmeId),
      identity: await loadSealingIdentity(path.join(this.pkiDir, sealingIdentityFile(kmeId))),
    };
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Ports the kernel had free a moment ago; good enough for servers started right after. */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const server = createServer();
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => (server.address() as { port: number }).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}
