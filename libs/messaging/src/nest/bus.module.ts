import { DqkdConfig, environmentError, UnreachableServiceError, type NatsEnv } from '@dqkd/config';
import {
  Global,
  Module,
  type DynamicModule,
  type InjectionToken,
  type OnApplicationShutdown,
} from '@nestjs/common';

import type { Bus } from '../bus';
import { connectBus, type BusTarget } from '../connect';
import { BusConfigError, BusUnavailableError } from '../errors';
import { InMemoryBroker } from '../in-memory/broker';
import type { StreamRegister, Topology } from '../topology';

/** Injection token of the connected `Bus`. */
export const BUS = Symbol('dqkd.bus');
/** Injection token of the bus' readiness check (`{ name, check() }`) for health probes. */
export const BUS_READINESS = Symbol('dqkd.bus.readiness');

/**
 * The embedded default runs every app of both sites in one process, so they must share one
 * in-memory broker: it lives as long as the process, not as long as one Nest application.
 */
const processBroker = new InMemoryBroker();

/** NATS when NATS_URL is set, otherwise the process-wide in-memory broker. */
export function busTarget(nats: NatsEnv, name: string): BusTarget {
  if (!nats.servers) return { kind: 'in-memory', broker: processBroker };
  // No JetStream domain here: each process talks to its own site's JetStream; reaching the
  // peer site's domain is replication's business (stream sources).
  return {
    kind: 'nats',
    options: {
      servers: [...nats.servers],
      name,
      tls: nats.tls,
      auth: nats.credsFile ? { credsFile: nats.credsFile } : undefined,
    },
  };
}

/** The variable that named each file of the connection (see busTarget). */
const NATS_FILE_VARIABLES: Readonly<Record<string, string>> = {
  'tls.caFile': 'NATS_TLS_CA_FILE',
  'tls.certFile': 'NATS_TLS_CERT_FILE',
  'tls.keyFile': 'NATS_TLS_KEY_FILE',
  'auth.credsFile': 'NATS_CREDS_FILE',
};

/** A connection failure in the words of the environment: the operator fixes a variable, not a bus option. */
function environmentFailure(error: unknown): unknown {
  if (error instanceof BusUnavailableError) {
    return new UnreachableServiceError('NATS_URL', error.servers, error.cause);
  }
  const variable = error instanceof BusConfigError ? NATS_FILE_VARIABLES[error.field] : undefined;
  return variable === undefined ? error : environmentError(variable, (error as BusConfigError).problem);
}

class BusLifecycle implements OnApplicationShutdown {
  constructor(private readonly bus: Bus) {}

  async onApplicationShutdown(): Promise<void> {
    await this.bus.close();
  }
}

export interface BusModuleOptions {
  /** Names the connection in NATS' connection list, e.g. `replication`. */
  app: string;
  /** The streams and consumers this app relies on; provisioned idempotently at start-up. */
  topology: Topology;
  /** The token of the site's record of the streams its peers copy (see StreamRegister), e.g. the ledger's. */
  streamRegister?: InjectionToken;
}

/** Provides the connected `Bus` (token `BUS`) and closes it cleanly on shutdown. */
@Global()
@Module({})
export class BusModule {
  static forRoot(options: BusModuleOptions): DynamicModule {
    return {
      module: BusModule,
      providers: [
        {
          provide: BUS,
          inject: [DqkdConfig, ...(options.streamRegister ? [options.streamRegister] : [])],
          useFactory: (config: DqkdConfig, register?: StreamRegister) =>
            connectBus(
              busTarget(config.env.nats, `${config.kme.id}/${options.app}`),
              options.topology,
              register,
            ).catch((error: unknown) => {
              throw environmentFailure(error);
            }),
        },
        { provide: BusLifecycle, inject: [BUS], useFactory: (bus: Bus) => new BusLifecycle(bus) },
        {
          provide: BUS_READINESS,
          inject: [BUS],
          useFactory: (bus: Bus) => ({ name: 'bus', check: () => bus.ping() }),
        },
      ],
      exports: [BUS, BUS_READINESS],
    };
  }
}
