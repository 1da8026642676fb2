import { sampleBytes } from '@dqkd/blast';

import { ConfigError, ENVIRONMENT, type ConfigIssue } from './config-error';
import { deepFreeze } from './deep-freeze';
import {
  ENTROPY_FILE_VARIABLES,
  parseEntropyServerEnv,
  type EntropyServerEnv,
} from './env/entropy-server-env';
import type { Environment } from './env/process-env';
import type { EntropyServer, NetworkConfig } from './network/network-config';
import { readNetworkOf, unreadableFiles } from './process-config';

/** What an entropy server process runs on: it is not a KME, so it has no KME_ID, ledger or bus. */
export interface EntropyServerConfig {
  readonly network: NetworkConfig;
  readonly env: EntropyServerEnv;
  /** This server's own entry of the network file. */
  readonly server: EntropyServer;
}

/**
 * Validates an entropy server's environment and the network file it names, once, at start-up; throws a
 * single ConfigError listing every issue. `ENTROPY_SERVER_ID` must be an `entropy_servers[].id`, and its
 * URL https: the server answers only over mutual TLS.
 */
export function loadEntropyServerConfig(
  env: Environment = process.env,
  cwd = process.cwd(),
): EntropyServerConfig {
  const parsed = parseEntropyServerEnv(env, cwd);
  const issues: ConfigIssue[] = [...parsed.issues, ...unreadableFiles(env, cwd, ENTROPY_FILE_VARIABLES)];
  const network = readNetworkOf(env, cwd, issues);
  const server = parsed.env && network?.entropyServers.find((each) => each.id === parsed.env?.serverId);
  if (network && parsed.env && !server) {
    const known = network.entropyServers.map((each) => each.id).join(', ');
    issues.push({
      source: ENVIRONMENT,
      path: 'ENTROPY_SERVER_ID',
      message: `unknown entropy server "${parsed.env.serverId}" (the network file defines ${known})`,
    });
  }
  if (network && server && new URL(server.url).protocol !== 'https:') {
    const index = network.entropyServers.indexOf(server);
    issues.push({
      source: env.DQKD_NETWORK_FILE?.trim() ?? network.file,
      path: `entropy_servers[${index}].url`,
      message: 'must be an https:// URL: an entropy server answers only over mutual TLS',
    });
  }
  if (network && parsed.env) issues.push(...sampleFitIssues(network, parsed.env));
  if (issues.length || !network || !parsed.env || !server) throw new ConfigError(issues);
  const apiPort = parsed.env.http.apiPort ?? defaultPort(server.url);
  return deepFreeze({ network, server, env: { ...parsed.env, http: { ...parsed.env.http, apiPort } } });
}

/**
 * Every block takes one sample from each server, which one pool and one KME's share of the pool memory (a
 * quarter) must hold: a larger lease is refused, and no block would ever be made.
 */
function sampleFitIssues(network: NetworkConfig, env: Pick<EntropyServerEnv, 'pool'>): ConfigIssue[] {
  const { blockBits, h } = network.blast;
  const sample = sampleBytes(blockBits, h);
  const what = `one sample of a block (${sample} bytes for block_bits ${blockBits} at h ${h}, the network file)`;
  if (sample > env.pool.bytes) {
    return [{ source: ENVIRONMENT, path: 'ENTROPY_POOL_BYTES', message: `must hold ${what}` }];
  }
  if (sample > env.pool.memoryBytes / 4) {
    return [
      {
        source: ENVIRONMENT,
        path: 'ENTROPY_POOL_MEMORY_BYTES',
        message: `must hold, in the quarter one KME may hold, ${what}`,
      },
    ];
  }
  return [];
}

function defaultPort(url: string): number {
  const parsed = new URL(url);
  return parsed.port ? Number(parsed.port) : 443;
}
