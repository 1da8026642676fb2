import * as path from 'node:path';

import { DqkdConfig, environmentError } from '@dqkd/config';
import { loadSealingIdentity, PkiError, sealingIdentityFile, type SealingIdentity } from '@dqkd/pki';
import type { Provider } from '@nestjs/common';

import { GATEWAY_OPTIONS, type GatewayOptions } from '../gateway-options';

/** Injection token of this KME's sealing identity: it signs the assignments the gateway sends. */
export const SEALING_IDENTITY = Symbol('dqkd.api-gateway.sealing-identity');

export const sealingIdentityProvider: Provider = {
  provide: SEALING_IDENTITY,
  inject: [DqkdConfig, GATEWAY_OPTIONS],
  // One that does not parse (a placeholder left in the mounted secret) stops the gateway, naming the variable.
  useFactory: (config: DqkdConfig, options: GatewayOptions): Promise<SealingIdentity> => {
    const { sealingIdentityFile: file } = options;
    const variable = file === undefined ? 'DQKD_HOME' : 'DQKD_SEALING_IDENTITY_FILE';
    return loadSealingIdentity(
      file ?? path.join(config.env.pkiDir, sealingIdentityFile(config.kme.id)),
    ).catch((error: unknown) => {
      throw error instanceof PkiError ? environmentError(variable, error.message) : error;
    });
  },
};
