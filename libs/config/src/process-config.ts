import { readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';

import { ConfigError, ENVIRONMENT, type ConfigIssue } from './config-error';
import { deepFreeze } from './deep-freeze';
import { FILE_VARIABLES } from './env/env-schema';
import { parseProcessEnv, type Environment, type ProcessEnv } from './env/process-env';
import { fsReason } from './fs-reason';
import type { NetworkConfig } from './network/network-config';
import { parseNetwork } from './network/parse-network';

export interface ProcessConfig {
  readonly network: NetworkConfig;
  readonly env: ProcessEnv;
}

const readText = (file: string) => readFileSync(file, 'utf8');

/** Reads and validates a network file on its own; messages name it as given, relative to `cwd`. */
export function loadNetworkFile(file: string, cwd = process.cwd()): NetworkConfig {
  const location = path.resolve(cwd, file);
  let text: string;
  try {
    text = readText(location);
  } catch (error) {
    throw new ConfigError([{ source: file, path: '', message: `cannot read: ${fsReason(error)}` }]);
  }
  return parseNetwork(text, { file, location, readFile: readText });
}

/** An issue for each of the named variables whose file cannot be read. */
export function unreadableFiles(
  env: Environment,
  cwd: string,
  variables: readonly string[] = FILE_VARIABLES,
): ConfigIssue[] {
  return variables.flatMap((name) => {
    const value = env[name]?.trim();
    if (!value) return [];
    try {
      if (!statSync(path.resolve(cwd, value)).isFile()) {
        return [{ source: ENVIRONMENT, path: name, message: `${value} is not a regular file` }];
      }
      return [];
    } catch (error) {
      return [{ source: ENVIRONMENT, path: name, message: `cannot read ${value}: ${fsReason(error)}` }];
    }
  });
}

/** The network file DQKD_NETWORK_FILE names, or undefined with its problems added to `issues`. */
export function readNetworkOf(
  env: Environment,
  cwd: string,
  issues: ConfigIssue[],
): NetworkConfig | undefined {
  const networkFile = env.DQKD_NETWORK_FILE?.trim();
  if (!networkFile) return undefined;
  const location = path.resolve(cwd, networkFile);
  try {
    return parseNetwork(readText(location), { file: networkFile, location, readFile: readText });
  } catch (error) {
    if (error instanceof ConfigError) issues.push(...error.issues);
    else
      issues.push({
        source: ENVIRONMENT,
        path: 'DQKD_NETWORK_FILE',
        message: `cannot read ${networkFile}: ${fsReason(error)}`,
      });
    return undefined;
  }
}

/**
 * Validates this process's environment and the network file it names, once, at start-up;
 * throws a single ConfigError listing every issue found. Relative paths are resolved against `cwd`.
 */
export function loadProcessConfig(env: Environment = process.env, cwd = process.cwd()): ProcessConfig {
  const parsed = parseProcessEnv(env, cwd);
  const issues: ConfigIssue[] = [...parsed.issues, ...unreadableFiles(env, cwd)];
  const network = readNetworkOf(env, cwd, issues);
  const kme = parsed.env && network?.kme(parsed.env.kmeId);
  if (network && parsed.env && !kme) {
    const known = network.kmes.map((each) => each.id).join(', ');
    issues.push({
      source: ENVIRONMENT,
      path: 'KME_ID',
      message: `unknown KME "${parsed.env.kmeId}" (the network file defines ${known})`,
    });
  }
  if (issues.length || !network || !parsed.env || !kme) throw new ConfigError(issues);
  const apiPort = parsed.env.http.apiPort ?? defaultPort(kme.apiUrl);
  return deepFreeze({ network, env: { ...parsed.env, http: { ...parsed.env.http, apiPort } } });
}

function defaultPort(apiUrl: string): number {
  const url = new URL(apiUrl);
  return url.port ? Number(url.port) : 443;
}
