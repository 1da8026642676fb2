import { Module, type DynamicModule } from '@nestjs/common';

import { ApiServer } from '../api-server/api-server';
import { GATEWAY_OPTIONS, type GatewayOptions } from '../gateway-options';
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
  static register(options: GatewayOptions): DynamicModule {
    return {
      module: KeysModule,
      controllers: [KeysController],
      providers: [
        { provide: GATEWAY_OPTIONS, useValue: options },
        sealingIdentityProvider,
        StatusService,
        KeyIssuer,
        EncKeysService,
        KeyDelivery,
        DecKeysService,
        ApiServer,
      ],
      exports: [ApiServer],
    };
  }
}
