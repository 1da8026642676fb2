#!/usr/bin/env node
import { loadEntropyServerConfig } from '../entropy-server-config';
import { exitOnConfigError } from '../exit-on-config-error';
import type { NetworkConfig } from '../network/network-config';
import { loadNetworkFile, loadProcessConfig } from '../process-config';

const usage = `usage: check-config [network-file]

With a network file: validates that file alone.
Without: validates this process's environment (KME_ID, DQKD_NETWORK_FILE, DATABASE_URL, ...; or, for an
entropy server, ENTROPY_SERVER_ID and ENTROPY_*) and the network file it names, as every DQKD process does
at start-up.
Exits 0 when valid, 78 (EX_CONFIG) with one issue per line on stderr when not.`;

function summary(network: NetworkConfig): string {
  return `${network.kmes.length} KMEs, ${network.saes.length} SAEs, ${network.entropyServers.length} entropy servers`;
}

function validFor(file: string, network: NetworkConfig, owner: string): void {
  process.stdout.write(`${file}: valid (${summary(network)}); environment valid for ${owner}\n`);
}

const args = process.argv.slice(2);
if (args[0] === '--help' || args[0] === '-h') {
  process.stdout.write(`${usage}\n`);
  process.exit(0);
}
if (args.length > 1 || args[0]?.startsWith('-')) {
  process.stderr.write(`${usage}\n`);
  // EX_USAGE from sysexits.h.
  process.exit(64);
}

// Under `npm run`, the working directory is the package folder; INIT_CWD is where the operator typed.
const cwd = process.env.INIT_CWD ?? process.cwd();

exitOnConfigError(() => {
  if (args[0]) {
    const network = loadNetworkFile(args[0], cwd);
    process.stdout.write(`${args[0]}: valid (${summary(network)})\n`);
    return;
  }
  if (process.env.ENTROPY_SERVER_ID !== undefined && process.env.KME_ID === undefined) {
    const { network, server } = loadEntropyServerConfig(process.env, cwd);
    validFor(network.file, network, server.id);
    return;
  }
  const { network, env } = loadProcessConfig(process.env, cwd);
  validFor(env.networkFile, network, env.kmeId);
});
