import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import type { Ledger } from '@dqkd/ledger';

import { BLOCK_BITS, blocksOf, eventually, FlowNetwork, HIGH_WATERMARK_BITS } from './support/flow-network';

const FULL = HIGH_WATERMARK_BITS / BLOCK_BITS;
const ACK_TIMEOUT_MS = 2000;
/** How often the key-generator looks at its links in these tests. */
const INTERVAL_MS = '100';

describe('a link whose target does not answer', () => {
  let network: FlowNetwork;
  let east: Ledger;

  beforeAll(async () => {
    network = await FlowNetwork.start();
    // kme-west runs no replication yet: nothing confirms kme-east's blocks.
    await Promise.all([
      network.startApp('key-generator', 'kme-east', {
        DQKD_BLOCK_ACK_TIMEOUT_MS: String(ACK_TIMEOUT_MS),
        DQKD_GENERATOR_INTERVAL_MS: INTERVAL_MS,
      }),
      network.startApp('replication', 'kme-east'),
    ]);
    east = await network.ledger('kme-east');
  }, 120_000);

  afterAll(() => network?.stop(), 60_000);

  const count = async (test: (block: { state: string; burn_reason: string | null }) => boolean) =>
    (await blocksOf(east)).filter(test).length;

  it('makes one block at a time once its blocks burn unconfirmed, and fills the link when the target answers', async () => {
    await eventually(
      async () => (await count((b) => b.burn_reason === 'unconfirmed by the target')) >= FULL,
      30_000,
      'the first pool to burn unconfirmed',
    );
    const before = await count(() => true);
    // Three acknowledgement timeouts and more: a whole pool each time before, one probe each time now.
    await new Promise((resolve) => setTimeout(resolve, 3.5 * ACK_TIMEOUT_MS));
    const made = (await count(() => true)) - before;
    expect(made).toBeGreaterThanOrEqual(1);
    expect(made).toBeLessThanOrEqual(5);
    expect(await count((b) => b.state === 'pending')).toBeLessThanOrEqual(1);

    await network.startApp('replication', 'kme-west');
    await eventually(
      async () => (await count((b) => b.state === 'ready')) >= FULL,
      30_000,
      'the link filled once its target confirms',
    );
  }, 90_000);
});

describe('a link whose target rejects every block', () => {
  let network: FlowNetwork;
  let east: Ledger;

  beforeAll(async () => {
    network = await FlowNetwork.start();
    // kme-west looks for entropy-3 where nothing listens: it reads two samples of each block and rejects it.
    const file = network.entropy.networkFile;
    const yaml = readFileSync(file, 'utf8');
    const moved = yaml.replace(/(- id: entropy-3\n\s+url: )\S+/, '$1https://127.0.0.1:1');
    expect(moved).not.toBe(yaml);
    const westFile = path.join(path.dirname(file), 'network-west.yaml');
    writeFileSync(westFile, moved);
    await Promise.all([
      network.startApp('replication', 'kme-west', { DQKD_NETWORK_FILE: westFile }),
      network.startApp('replication', 'kme-east'),
    ]);
    await network.startApp('key-generator', 'kme-east', { DQKD_GENERATOR_INTERVAL_MS: INTERVAL_MS });
    east = await network.ledger('kme-east');
  }, 120_000);

  afterAll(() => network?.stop(), 60_000);

  it('spaces its probes, one second and doubling, instead of making one each round', async () => {
    const rejected = async () =>
      (await blocksOf(east)).filter((b) => b.burn_reason?.startsWith('rejected by kme-west')).length;
    await eventually(async () => (await rejected()) >= FULL, 30_000, 'the first pool to be rejected');
    const before = (await blocksOf(east)).length;
    // A rejection settles within moments: a probe each round made dozens here; spaced, 1 + 2 + 4 s.
    await new Promise((resolve) => setTimeout(resolve, 7000));
    const made = (await blocksOf(east)).length - before;
    expect(made).toBeGreaterThanOrEqual(1);
    expect(made).toBeLessThanOrEqual(5);
    expect(await rejected()).toBeGreaterThanOrEqual(FULL + 1);
  }, 90_000);
});
