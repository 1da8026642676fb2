import * as path from 'node:path';

import { DqkdConfig } from '@dqkd/config';
import { loadSealingIdentity, sealingIdentityFile, type SealingIdentity } from '@dqkd/pki';
import type { Provider } from '@nestjs/common';

import { GATEWAY_OPTIONS, type GatewayOptions } from '../gateway-options';

/** Injection token of this KME's sealing identity: it signs the assignments the gateway sends. */
export const SEALING_IDENTITY = Symbol('dqkd.api-gateway.sealing-identity');

export const sealingIdentityProvider: Provider = {
  provide: SEALING_IDENTITY,
  inject: [DqkdConfig, GATEWAY_OPTIONS],
  useFactory: (config: DqkdConfig, options: GatewayOptions): Promise<SealingIdentity> =>
    loadSealingIdentity(
      options.sealingIdentityFile ?? path.join(config.env.pkiDir, sealingIdentityFile(config.kme.id)),
    ),
};
