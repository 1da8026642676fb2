import type { NetworkConfig } from '@dqkd/config';
import { Module, type DynamicModule } from '@nestjs/common';

import { ApiServer } from '../api-server/api-server';
import { GATEWAY_OPTIONS, type GatewayOptions } from '../gateway-options';
import { EtsiRequests } from '../observability/etsi-requests';
import { gatewayMetricProviders } from '../observability/gateway-metrics';
import { KeyCounts } from '../observability/key-counts';
import { DecKeysService } from './dec-keys.service';
import { KeyDelivery } from './delivery';
import { EncKeysService } from './enc-keys.service';
import { KeyIssuer } from './issuance';
import { KeysController } from './keys.controller';
import { sealingIdentityProvider } from './sealing';
import { StatusService } from './status.service';

/** The ETSI GS QKD 014 routes and the mutual-TLS listener that serves them. */
@Module({})
export class KeysModule {
  static register(options: GatewayOptions, network: NetworkConfig, kmeId: string): DynamicModule {
    return {
      module: KeysModule,
      providers: [
        ...gatewayMetricProviders(network, kmeId),
        EtsiRequests,
        KeyCounts,
        { provide: GATEWAY_OPTIONS, useValue: options },
        sealingIdentityProvider,
        StatusService,
        KeyIssuer,
        EncKeysService,
        KeyDelivery,
        DecKeysService,
        KeysController,
        ApiServer,
      ],
      exports: [ApiServer],
    };
  }
}
