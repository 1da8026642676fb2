import { EtsiHttpError } from '@dqkd/client';

import { GatewayNetwork } from './support/gateway-network';

describe('api-gateway limits', () => {
  let network: GatewayNetwork;
  beforeAll(async () => {
    network = await GatewayNetwork.start({ limits: { sae_requests_per_second: 1, sae_request_burst: 3 } });
    await network.seedBlocks(1);
  });
  afterAll(() => network?.stop());

  async function refusal(promise: Promise<unknown>): Promise<EtsiHttpError> {
    const error = await promise.then(
      () => undefined,
      (caught: unknown) => caught,
    );
    if (!(error instanceof EtsiHttpError)) throw new Error(`expected an ETSI error, got ${String(error)}`);
    return error;
  }

  it('answers 503 after waiting at most about 2 s when the ready pool cannot cover the request', async () => {
    const before = await network.counts();
    const started = Date.now();
    const refused = await refusal(
      network.client('sae-bob', 'kme-west').encKeys('sae-alice', { number: 2, size: 512 }),
    );
    expect(refused.status).toBe(503);
    expect(refused.body.message).toBe('not enough key material is ready on this link; retry later');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
    expect(Date.now() - started).toBeLessThan(4000);
    expect(await network.counts()).toEqual(before);
  });

  it('answers 503 when the pool holds fewer bits than asked, and takes none of them', async () => {
    const before = await network.counts();
    const refused = await refusal(
      network.client('sae-alice', 'kme-east').encKeys('sae-bob', { number: 2, size: 65536 }),
    );
    expect(refused.status).toBe(503);
    expect(await network.counts()).toEqual(before);
    expect((await network.client('sae-alice', 'kme-east').status('sae-bob')).stored_key_count).toBe(256);
  });

  it('answers 503 at once, naming the pool, to a request larger than the pool ever holds', async () => {
    const before = await network.counts();
    const started = Date.now();
    // Within max_key_per_request and max_key_size: 64 Mbit. This link's pool holds at most two refills of
    // its high watermark (8 Mbit) in whole blocks of 256 kbit.
    const refused = await refusal(
      network.client('sae-bob', 'kme-west').encKeys('sae-alice', { number: 1024, size: 65536 }),
    );
    expect(refused.status).toBe(503);
    expect(refused.body.message).toBe(
      "the request asks for 67108864 bits of key material, more than this link's pool ever holds " +
        '(17301504 bits); ask for fewer or smaller keys',
    );
    expect(Date.now() - started).toBeLessThan(1500);
    expect(await network.counts()).toEqual(before);
  });

  it('answers 503 once an SAE exceeds its request rate', async () => {
    const alice = network.client('sae-alice', 'kme-east');
    const outcomes = await Promise.all(
      Array.from({ length: 6 }, () =>
        alice.status('sae-bob').then(
          () => 200,
          (error: unknown) => (error as EtsiHttpError).status,
        ),
      ),
    );
    expect(outcomes.filter((status) => status === 200).length).toBeLessThanOrEqual(4);
    expect(outcomes).toContain(503);
  });
});

describe('api-gateway with a pool short of alike requests together', () => {
  let network: GatewayNetwork;
  beforeAll(async () => {
    network = await GatewayNetwork.start({
      limits: { sae_requests_per_second: 1000, sae_request_burst: 1000 },
    });
    await network.seedBlocks(1);
  });
  afterAll(() => network?.stop());

  it('serves the first of two alike requests the pool cannot cover together, and only then refuses the other', async () => {
    const alice = network.client('sae-alice', 'kme-east');
    // 38400 bits each, 76800 together, from one block of 65536: sent together, they go in one batch.
    const outcomes = await Promise.all(
      [0, 1].map(() =>
        alice.encKeys('sae-bob', { number: 600, size: 64 }).then(
          (container) => container.keys.length,
          (error: unknown) => (error as EtsiHttpError).status,
        ),
      ),
    );
    expect(outcomes.sort()).toEqual([503, 600]);
  });
});
