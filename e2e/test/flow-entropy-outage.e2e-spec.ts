import { scrape } from '@dqkd/embedded/dist/observe';

import { FlowNetwork } from './support/flow-network';

/** The metrics URL an app printed with its health URL when it started. */
function metricsUrl(output: string): string {
  const health = /health on (http:\/\/\S+)\/health\/ready/.exec(output)?.[1];
  if (health === undefined) throw new Error(`no health URL in:\n${output}`);
  return `${health}/metrics`;
}

describe('a key-generator while one entropy server is down', () => {
  let network: FlowNetwork;

  beforeAll(async () => {
    network = await FlowNetwork.start();
  }, 120_000);

  afterAll(() => network?.stop(), 60_000);

  it("backs off instead of leasing the healthy servers' samples every round", async () => {
    const down = network.running('entropy-server', 'entropy-3');
    down.signal('SIGKILL');
    await down.exit();
    const healthy = metricsUrl(network.running('entropy-server', 'entropy-1').text);
    const leases = async () => (await scrape(healthy)).scrape.sum('dqkd_entropy_leases_total');
    const before = await leases();
    const generator = await network.startApp('key-generator', 'kme-east', {
      DQKD_GENERATOR_INTERVAL_MS: '50',
      DQKD_GENERATOR_CONCURRENCY: '4',
    });
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    // Rounds every 50 ms would lease 4 samples each (over 300 in 4 s); tries 1, 2 and 4 s apart lease 12 at most.
    expect(await leases()).toBeLessThanOrEqual(before + 12);
    expect(generator.text).toMatch(/trying again in 2000 ms/);
  }, 120_000);
});
