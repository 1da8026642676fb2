import { randomBytes } from 'node:crypto';

import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';

import {
  InMemoryBroker,
  InMemoryBus,
  JetStreamBus,
  siteNaming,
  type Bus,
  type ConsumerSpec,
  type SiteNaming,
  type StreamSpec,
  type Topology,
} from '../../src';

export const NATS_URL = process.env['DQKD_TEST_NATS_URL'] ?? 'nats://127.0.0.1:4222';

/** One adapter under test, with names unique to this run and cleanup of what it made. */
export interface BusHarness {
  readonly naming: SiteNaming;
  connect(topology: Topology): Promise<Bus>;
  cleanup(): Promise<void>;
}

export function uniqueNaming(site = 'kme-east'): SiteNaming {
  return siteNaming(site, { prefix: `t${randomBytes(5).toString('hex')}` });
}

/** A work-queue stream and its durable, as replication's topology declares them, under `naming`. */
export function workQueueTopology(naming = uniqueNaming()) {
  const stream: StreamSpec = {
    name: naming.stream('assignments'),
    subjects: [naming.wildcard('keys')],
    retention: 'workqueue',
    maxAgeMs: 3_600_000,
    duplicateWindowMs: 120_000,
  };
  const consumer: ConsumerSpec = {
    stream: stream.name,
    durable: 'replication',
    ackWaitMs: 2000,
    maxDeliver: 20,
  };
  return {
    naming,
    stream,
    consumer,
    subject: naming.subject('keys', 'assignments'),
    topology: { streams: [stream], consumers: [consumer] } satisfies Topology,
  };
}

export function inMemoryHarness(): BusHarness {
  const broker = new InMemoryBroker();
  const buses: Bus[] = [];
  return {
    naming: uniqueNaming(),
    connect: async (topology) => {
      const bus = await InMemoryBus.connect(broker, topology);
      buses.push(bus);
      return bus;
    },
    cleanup: async () => {
      await Promise.all(buses.map((b) => b.close({ graceMs: 100 })));
      broker.close();
    },
  };
}

export function jetStreamHarness(servers = NATS_URL): BusHarness {
  const buses: Bus[] = [];
  const streams = new Set<string>();
  return {
    naming: uniqueNaming(),
    connect: async (topology) => {
      topology.streams.forEach((s) => streams.add(s.name));
      const bus = await JetStreamBus.connect({ servers, name: 'messaging-e2e' }, topology);
      buses.push(bus);
      return bus;
    },
    cleanup: async () => {
      await Promise.all(buses.map((b) => b.close({ graceMs: 100 })));
      if (streams.size === 0) return;
      const nc = await connect({ servers, maxReconnectAttempts: 0 });
      const jsm = await jetstreamManager(nc);
      await Promise.all([...streams].map((s) => jsm.streams.delete(s).catch(() => false)));
      await nc.close();
    },
  };
}
