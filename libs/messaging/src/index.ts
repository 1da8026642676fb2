export type {
  Bus,
  BusMessage,
  CloseOptions,
  ConsumeOptions,
  MessageHandler,
  PublishOptions,
  PublishReceipt,
  Subscription,
} from './bus';
export { connectBus, type BusTarget } from './connect';
export * from './errors';
export { InMemoryBroker } from './in-memory/broker';
export { InMemoryBus } from './in-memory/memory-bus';
export { JetStreamBus } from './jetstream/jetstream-bus';
export type { NatsBusOptions } from './jetstream/options';
export { DEFAULT_PREFIX, siteNaming, type SiteNaming } from './naming';
export { isValidSubject, subjectMatches, subjectsOverlap } from './subjects';
export {
  resolveTopology,
  type ConsumerSpec,
  type StreamRegister,
  type StreamSpec,
  type Topology,
} from './topology';
export { BUS, BUS_READINESS, BusModule, busTarget, type BusModuleOptions } from './nest/bus.module';
export * from './protocol';
export { OutboxRelayLifecycle } from './nest/outbox-relay.lifecycle';
