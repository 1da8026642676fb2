import type { Bus } from './bus';
import { InMemoryBroker } from './in-memory/broker';
import { InMemoryBus } from './in-memory/memory-bus';
import { JetStreamBus } from './jetstream/jetstream-bus';
import type { NatsBusOptions } from './jetstream/options';
import type { Topology } from './topology';

/** NATS when NATS_URL is set; otherwise a broker shared by every part of the embedded default. */
export type BusTarget =
  { kind: 'nats'; options: NatsBusOptions } | { kind: 'in-memory'; broker: InMemoryBroker };

/** Connects and provisions the topology; the adapter is chosen by the target alone. */
export function connectBus(target: BusTarget, topology: Topology): Promise<Bus> {
  return target.kind === 'nats'
    ? JetStreamBus.connect(target.options, topology)
    : InMemoryBus.connect(target.broker, topology);
}
