import type { Bus } from './bus';
import { InMemoryBroker } from './in-memory/broker';
import { InMemoryBus } from './in-memory/memory-bus';
import { JetStreamBus } from './jetstream/jetstream-bus';
import type { NatsBusOptions } from './jetstream/options';
import type { StreamRegister, Topology } from './topology';

/** NATS when NATS_URL is set; otherwise a broker shared by every part of the embedded default. */
export type BusTarget =
  { kind: 'nats'; options: NatsBusOptions } | { kind: 'in-memory'; broker: InMemoryBroker };

/**
 * Connects and provisions the topology; the adapter is chosen by the target alone. `register` records the
 * streams the peers copy (see StreamRegister); the in-memory broker keeps nothing to lose.
 */
export function connectBus(target: BusTarget, topology: Topology, register?: StreamRegister): Promise<Bus> {
  return target.kind === 'nats'
    ? JetStreamBus.connect(target.options, topology, register)
    : InMemoryBus.connect(target.broker, topology);
}
