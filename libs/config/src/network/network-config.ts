import { deepFreeze } from '../deep-freeze';
import type { SealingPublicKeys } from './sealing-public-keys';

export interface Kme {
  readonly id: string;
  /** Site or region name, for people and dashboards. */
  readonly site: string;
  /** Base URL of the ETSI GS QKD 014 API this KME serves, without a trailing slash. */
  readonly apiUrl: string;
  /** JetStream domain of this site. */
  readonly natsDomain: string;
  readonly sealing: SealingPublicKeys;
}

export interface Sae {
  readonly id: string;
  /** Subject CN of the SAE's client certificate. */
  readonly certificateCn: string;
  readonly kmeId: string;
}

export interface EntropyServer {
  readonly id: string;
  /** Base URL, without a trailing slash. */
  readonly url: string;
  /** Subject CN expected on the server's certificate. */
  readonly certificateCn: string;
  /** Its sealing public keys: KMEs verify the signature on every sample it seals with `sigPublicKey`. */
  readonly sealing?: SealingPublicKeys;
}

export interface BlastParameters {
  /** Entropy servers combined per block. */
  readonly t: number;
  /** Min-entropy rate of the servers' samples, in (0, 1]. */
  readonly h: number;
  readonly blockBits: number;
}

export interface LinkLimits {
  /** Default key size in bits (ETSI `key_size`). */
  readonly keySize: number;
  readonly minKeySize: number;
  readonly maxKeySize: number;
  readonly maxKeyPerRequest: number;
  readonly maxKeyCount: number;
  /** Additional slave SAEs allowed per request (ETSI `max_SAE_ID_count`); 0 = no multicast. */
  readonly maxSaeIdCount: number;
  readonly defaultTtlSeconds: number;
  readonly maxTtlSeconds: number;
  /** The key-generator fills the pool when ready bits drop under the low watermark, up to the high one. */
  readonly lowWatermarkBits: number;
  readonly highWatermarkBits: number;
  readonly maxRequestBodyBytes: number;
  readonly maxKeyIdsPerRequest: number;
  readonly saeRequestsPerSecond: number;
  readonly saeRequestBurst: number;
}

/** An ordered pair of KMEs with its own key pool. */
export interface Link {
  readonly source: string;
  readonly target: string;
  readonly limits: LinkLimits;
}

/** The validated network file: the same at every site. */
export interface NetworkConfig {
  /** Absolute path of the network file. */
  readonly file: string;
  readonly kmes: readonly Kme[];
  readonly saes: readonly Sae[];
  readonly entropyServers: readonly EntropyServer[];
  readonly blast: BlastParameters;
  /** Every ordered pair of distinct KMEs, with defaults and overrides merged. */
  readonly links: readonly Link[];
  kme(id: string): Kme | undefined;
  sae(id: string): Sae | undefined;
  /** The SAE whose client certificate carries this subject CN. */
  saeByCertificateCn(cn: string): Sae | undefined;
  /** The KME an SAE is attached to. */
  kmeOf(saeId: string): Kme | undefined;
  saesOf(kmeId: string): readonly Sae[];
  linksFrom(source: string): readonly Link[];
  linkLimits(source: string, target: string): LinkLimits | undefined;
}

export interface NetworkParts {
  readonly file: string;
  readonly kmes: readonly Kme[];
  readonly saes: readonly Sae[];
  readonly entropyServers: readonly EntropyServer[];
  readonly blast: BlastParameters;
  readonly links: readonly Link[];
}

/** Assembles the lookup helpers over already validated parts. */
export function networkConfig(parts: NetworkParts): NetworkConfig {
  const kmes = new Map(parts.kmes.map((kme) => [kme.id, kme]));
  const saes = new Map(parts.saes.map((sae) => [sae.id, sae]));
  const byCn = new Map(parts.saes.map((sae) => [sae.certificateCn, sae]));
  const links = new Map(parts.links.map((link) => [`${link.source}\u0000${link.target}`, link]));
  return deepFreeze({
    ...parts,
    kme: (id: string) => kmes.get(id),
    sae: (id: string) => saes.get(id),
    saeByCertificateCn: (cn: string) => byCn.get(cn),
    kmeOf: (saeId: string) => {
      const sae = saes.get(saeId);
      return sae && kmes.get(sae.kmeId);
    },
    saesOf: (kmeId: string) => parts.saes.filter((sae) => sae.kmeId === kmeId),
    linksFrom: (source: string) => parts.links.filter((link) => link.source === source),
    linkLimits: (source: string, target: string) => links.get(`${source}\u0000${target}`)?.limits,
  });
}
