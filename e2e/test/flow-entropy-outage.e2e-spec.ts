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

describe('a key-generator whose ledger refuses its blocks', () => {
  let network: FlowNetwork;

  beforeAll(async () => {
    network = await FlowNetwork.start();
  }, 120_000);

  afterAll(() => network?.stop(), 60_000);

  // A database that still reads but no longer writes (full, or switched to read-only): each try leases a sample
  // from every server, and tries every round used up this KME's share of the servers' pools.
  it('backs off as it does for entropy, and leases samples only for its tries', async () => {
    const ledger = await network.ledger('kme-east');
    await ledger.dataSource.query(`
      CREATE FUNCTION refuse_blocks() RETURNS trigger LANGUAGE plpgsql AS
        $$ BEGIN RAISE EXCEPTION 'could not extend file: No space left on device'; END $$;
      CREATE TRIGGER refuse_blocks BEFORE INSERT ON blocks FOR EACH ROW EXECUTE FUNCTION refuse_blocks()`);
    const healthy = metricsUrl(network.running('entropy-server', 'entropy-1').text);
    const leases = async () => (await scrape(healthy)).scrape.sum('dqkd_entropy_leases_total');
    const before = await leases();
    const generator = await network.startApp('key-generator', 'kme-east', {
      DQKD_GENERATOR_INTERVAL_MS: '50',
      DQKD_GENERATOR_CONCURRENCY: '4',
    });
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    expect(await leases()).toBeLessThanOrEqual(before + 12);
    expect(generator.text).toMatch(/No space left on device; trying again in 2000 ms/);
  }, 120_000);
});
