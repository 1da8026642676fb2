import type { LinkLimits, NetworkConfig } from '@dqkd/config';

/** Limits that apply to a caller before its request names a link: the most generous of this KME's links. */
export interface SiteLimits {
  readonly maxRequestBodyBytes: number;
  readonly saeRequestsPerSecond: number;
  readonly saeRequestBurst: number;
}

export function siteLimits(network: NetworkConfig, kmeId: string): SiteLimits {
  const limits: LinkLimits[] = network.links
    .filter((link) => link.source === kmeId || link.target === kmeId)
    .map((link) => link.limits);
  const most = (pick: (each: LinkLimits) => number) => Math.max(0, ...limits.map(pick));
  return {
    maxRequestBodyBytes: most((each) => each.maxRequestBodyBytes),
    saeRequestsPerSecond: most((each) => each.saeRequestsPerSecond),
    saeRequestBurst: most((each) => each.saeRequestBurst),
  };
}
