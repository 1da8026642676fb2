import { busContract } from './bus.contract';
import { inMemoryHarness, jetStreamHarness } from './support/harness';

describe.each([
  ['in-memory', inMemoryHarness],
  ['NATS JetStream', () => jetStreamHarness()],
])('the bus over %s', (_adapter, makeHarness) => {
  busContract(makeHarness);
});
