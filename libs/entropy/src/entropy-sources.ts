import * as path from 'node:path';

import { environmentError, type NetworkConfig, type ProcessConfig } from '@dqkd/config';
import {
  loadSealingIdentity,
  PkiError,
  readTlsMaterial,
  sealingIdentityFile,
  tlsMaterialProblem,
  tlsSources,
  type SealingIdentity,
  type TlsOptions,
} from '@dqkd/pki';

import { RemoteEntropySource } from './entropy-server-client';

/** What a KME presents to entropy servers: its TLS client certificate and its sealing identity. */
export interface KmeEntropyCredentials {
  readonly tls: TlsOptions;
  readonly identity: SealingIdentity;
}

export interface KmeEntropySources {
  /** Every entropy server of the network: regeneration reads whichever servers the metadata names. */
  readonly all: readonly RemoteEntropySource[];
  /** The `blast.t` servers a new block leases from, in network-file order; all must answer. */
  readonly forGeneration: readonly RemoteEntropySource[];
  close(): void;
}

/**
 * The entropy sources of one KME, from the network file. A server without public keys there fails each
 * request with EntropyServerUnverifiable, since its samples could not be verified.
 */
export function createEntropySources(
  network: NetworkConfig,
  credentials: KmeEntropyCredentials,
  options: { readonly timeoutMs?: number; readonly now?: () => number } = {},
): KmeEntropySources {
  const all = network.entropyServers.map(
    (server) => new RemoteEntropySource({ server, ...credentials, ...options }),
  );
  return {
    all,
    forGeneration: all.slice(0, network.blast.t),
    close: () => all.forEach((source) => source.close()),
  };
}

/**
 * A KME's credentials: the ETSI API's certificate and key (DQKD_TLS_*; KME certificates carry the
 * clientAuth usage too) or the development PKI's `<kme>.pem/.key`, the entropy servers' CA
 * (DQKD_ENTROPY_CA_FILE, else DQKD_TLS_CA_FILE, else the PKI's `ca.pem`), and `<kme>.sealing.json` from the
 * PKI folder. Material that cannot serve is a ConfigError naming its variable: the entropy servers would
 * otherwise be retried for ever with a client certificate that never connects.
 */
export async function loadKmeEntropyCredentials(config: ProcessConfig): Promise<KmeEntropyCredentials> {
  const { pkiDir, kmeId, http, entropyCaFile } = config.env;
  const kme = tlsSources(pkiDir, kmeId, http.tls);
  const from = entropyCaFile
    ? { ...kme, ca: { file: entropyCaFile, variable: 'DQKD_ENTROPY_CA_FILE' } }
    : kme;
  const material = await readTlsMaterial(from);
  const problem = tlsMaterialProblem(material, from);
  if (problem) throw environmentError(problem.variable, problem.message);
  const identity = await loadSealingIdentity(path.join(pkiDir, sealingIdentityFile(kmeId))).catch(
    (error: unknown) => {
      throw error instanceof PkiError ? environmentError('DQKD_HOME', error.message) : error;
    },
  );
  return { tls: material, identity };
}
