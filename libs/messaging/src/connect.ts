import type { MessagePort } from 'node:worker_threads';

import type { Bus } from './bus';
import { InMemoryBroker } from './in-memory/broker';
import { InMemoryBus } from './in-memory/memory-bus';
import { ThreadBus } from './in-memory/thread-bus';
import { JetStreamBus } from './jetstream/jetstream-bus';
import type { NatsBusOptions } from './jetstream/options';
import type { Topology } from './topology';

/**
 * NATS when NATS_URL is set; otherwise a broker shared by every part of the embedded default, reached
 * directly or, from a worker thread, through a MessagePort.
 */
export type BusTarget =
  | { kind: 'nats'; options: NatsBusOptions }
  | { kind: 'in-memory'; broker: InMemoryBroker }
  | { kind: 'thread'; port: MessagePort };

/** Connects and provisions the topology; the adapter is chosen by the target alone. */
export function connectBus(target: BusTarget, topology: Topology): Promise<Bus> {
  switch (target.kind) {
    case 'nats':
      return JetStreamBus.connect(target.options, topology);
    case 'in-memory':
      return InMemoryBus.connect(target.broker, topology);
    case 'thread':
      return ThreadBus.connect(target.port, topology);
  }
}
