import {
  EntropyUnavailable,
  generateBlock,
  openMetadata,
  regenerateBlock,
  sealMetadata,
  type GeneratedBlock,
} from '@dqkd/blast';
import {
  createEntropySources,
  EntropyServerUnreachable,
  SampleRefused,
  type KmeEntropySources,
} from '@dqkd/entropy';
import type { SealingIdentity } from '@dqkd/pki';

import { EntropyNetwork } from '../../libs/entropy/test/entropy-network';
import { AppProcess } from './support/app-process';

const SERVERS = ['entropy-1', 'entropy-2', 'entropy-3'];

async function refusalOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof SampleRefused) return error.reason;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('BLAST across three entropy-server processes over mutual TLS', () => {
  let network: EntropyNetwork;
  let processes: AppProcess[];
  const kmes: Record<string, { sources: KmeEntropySources; identity: SealingIdentity }> = {};

  beforeAll(async () => {
    network = await EntropyNetwork.create();
    processes = SERVERS.map((id) => AppProcess.start('entropy-server', network.serverEnv(id), network.dir));
    await Promise.all(
      processes.map((child, i) => child.waitFor(`entropy-server of ${SERVERS[i]} is running`)),
    );
    for (const kmeId of ['kme-east', 'kme-west', 'kme-north']) {
      const credentials = await network.credentials(kmeId);
      kmes[kmeId] = {
        sources: createEntropySources(network.network, credentials),
        identity: credentials.identity,
      };
    }
  });

  afterAll(async () => {
    Object.values(kmes).forEach((kme) => kme.sources.close());
    for (const child of processes ?? []) {
      child.signal('SIGTERM');
      await child.exit().catch(() => undefined);
    }
    network?.remove();
  });

  function generate(now = Date.now()): Promise<GeneratedBlock> {
    return generateBlock({
      source: 'kme-east',
      target: 'kme-west',
      blockBits: network.network.blast.blockBits,
      minEntropyRate: network.network.blast.h,
      sources: kmes['kme-east'].sources.forGeneration,
      now,
      expiresAt: now + 60_000,
    });
  }

  it('gives source and target bit-identical blocks, the metadata travelling only sealed', async () => {
    const east = kmes['kme-east'];
    const west = kmes['kme-west'];
    const generated = await generate();
    const block = Buffer.from(generated.block);
    const envelope = sealMetadata(
      generated.metadata,
      east.identity.sigSecretKey,
      network.network.kme('kme-west')!.sealing.kemPublicKey,
    );

    const { metadata } = openMetadata(envelope, {
      self: 'kme-west',
      recipientKemSecret: west.identity.kemSecretKey,
      senderSigPublicKeys: (id) => network.network.kme(id)?.sealing.sigPublicKey,
      now: Date.now(),
    });
    const regenerated = await regenerateBlock(metadata, west.sources.all);

    expect(metadata.samples.map((sample) => sample.serverId)).toEqual(SERVERS);
    expect(block.length).toBe(network.network.blast.blockBits / 8);
    expect(Buffer.from(regenerated).equals(block)).toBe(true);
  });

  it('refuses the samples to a KME not named as a reader or for another lessee, a third read and a second read by the target', async () => {
    const [east, west, north] = ['kme-east', 'kme-west', 'kme-north'].map((id) => kmes[id].sources.all[0]);
    const leased = await east.lease(64, ['kme-east', 'kme-west'], Date.now() + 60_000);

    expect(await refusalOf(north.read(leased.ref, 'kme-east'))).toBe('unknown');
    // Read for another lessee (metadata of kme-north naming kme-east's sample): as if there were none.
    expect(await refusalOf(west.read(leased.ref, 'kme-north'))).toBe('unknown');
    expect(Buffer.from(await west.read(leased.ref, 'kme-east'))).toEqual(Buffer.from(leased.bytes));
    expect(await refusalOf(east.read(leased.ref, 'kme-east'))).toBe('already-read');
    expect(await refusalOf(west.read(leased.ref, 'kme-east'))).toBe('already-read');
    expect(await refusalOf(north.read(leased.ref, 'kme-east'))).toBe('unknown');
  });

  it('refuses a read after the deadline', async () => {
    const [east, west] = ['kme-east', 'kme-west'].map((id) => kmes[id].sources.all[1]);
    const leased = await east.lease(64, ['kme-east', 'kme-west'], Date.now() + 300);
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(await refusalOf(west.read(leased.ref, 'kme-east'))).toBe('expired');
  });

  it('fails generation with a typed error, rather than using fewer servers, when one of t is gone', async () => {
    processes[2].signal('SIGKILL');
    await processes[2].exit();
    const failure = await generate().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(EntropyUnavailable);
    expect(failure).toMatchObject({ serverId: 'entropy-3' });
    expect((failure as EntropyUnavailable).cause).toBeInstanceOf(EntropyServerUnreachable);
  });
});
