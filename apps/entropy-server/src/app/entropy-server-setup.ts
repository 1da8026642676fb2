import { readFileSync } from 'node:fs';

import {
  ConfigError,
  ENVIRONMENT,
  loadEntropyServerConfig,
  type ConfigIssue,
  type EntropyServerConfig,
  type Environment,
} from '@dqkd/config';
import {
  parseSealingIdentity,
  PkiError,
  tlsMaterialProblem,
  tlsSources,
  type SealingIdentity,
  type TlsOptions,
} from '@dqkd/pki';

/** Everything the server needs before Nest starts: validated configuration, its TLS files and signing key. */
export interface EntropyServerSetup extends EntropyServerConfig {
  readonly identity: SealingIdentity;
  readonly tls: TlsOptions;
}

/**
 * Loads the configuration, then reads the files it names, so a missing certificate or a sealing identity
 * that does not match the network file stops the process with exit code 78 before it listens.
 */
export function loadEntropyServerSetup(
  env: Environment = process.env,
  cwd = process.cwd(),
): EntropyServerSetup {
  const config = loadEntropyServerConfig(env, cwd);
  const issues: ConfigIssue[] = [];
  const read = (file: string, variable: string): string => {
    try {
      return readFileSync(file, 'utf8');
    } catch (error) {
      issues.push({
        source: ENVIRONMENT,
        path: variable,
        message: `cannot read ${file}: ${(error as Error).message}`,
      });
      return '';
    }
  };
  const { pkiDir, http, serverId, sealingFile } = config.env;
  const from = tlsSources(pkiDir, serverId, http.tls);
  const tls: TlsOptions = {
    cert: read(from.cert.file, from.cert.variable),
    key: read(from.key.file, from.key.variable),
    ca: read(from.ca.file, from.ca.variable),
  };
  // Only material that was read can be judged; what was not is an issue already.
  const problem = issues.length === 0 ? tlsMaterialProblem(tls, from) : undefined;
  if (problem) issues.push({ source: ENVIRONMENT, path: problem.variable, message: problem.message });
  const identity = sealingIdentity(read(sealingFile, 'ENTROPY_SEALING_FILE'), config, issues);
  if (issues.length || !identity) throw new ConfigError(issues);
  return { ...config, identity, tls };
}

function sealingIdentity(
  text: string,
  config: EntropyServerConfig,
  issues: ConfigIssue[],
): SealingIdentity | undefined {
  if (!text) return undefined;
  const { serverId, sealingFile } = config.env;
  let identity: SealingIdentity;
  try {
    identity = parseSealingIdentity(text, sealingFile);
  } catch (error) {
    if (!(error instanceof PkiError)) throw error;
    issues.push({ source: ENVIRONMENT, path: 'ENTROPY_SEALING_FILE', message: error.message });
    return undefined;
  }
  const at = `entropy_servers[${config.network.entropyServers.indexOf(config.server)}].public_keys`;
  const published = config.server.sealing?.sigPublicKey;
  if (identity.kmeId !== serverId) {
    issues.push({
      source: ENVIRONMENT,
      path: 'ENTROPY_SEALING_FILE',
      message: `belongs to "${identity.kmeId}", not "${serverId}"`,
    });
  } else if (!published) {
    issues.push({
      source: config.network.file,
      path: at,
      message: `required for ${serverId}: KMEs verify the samples it signs with this key`,
    });
  } else if (!Buffer.from(published).equals(identity.sigPublicKey)) {
    issues.push({
      source: config.network.file,
      path: at,
      message: `does not hold the public keys of ${sealingFile}`,
    });
  }
  return identity;
}
