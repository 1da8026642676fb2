/**
 * Block generation (source) and regeneration (target) throughput on one core, with the round trips to
 * three entropy-server processes over mutual TLS, beside the same work over in-memory sources. The
 * servers are the built app, started here on 127.0.0.1 and stopped at the end. Not a test: numbers
 * depend on the machine. Run with `npm run bench -w @dqkd/entropy-server`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import * as path from 'node:path';

import {
  generateBlock,
  regenerateBlock,
  type EntropySource,
  type GeneratedBlock,
  type LeasedSample,
  type SampleRef,
} from '@dqkd/blast';
import { createEntropySources, type KmeEntropySources } from '@dqkd/entropy';

import { EntropyNetwork } from '../../libs/entropy/test/entropy-network';

const SERVERS = ['entropy-1', 'entropy-2', 'entropy-3'];
const MIN_ENTROPY_RATE = 1;
const ROUND_SECONDS = 3;
const MAX_BLOCKS_PER_ROUND = 2000;
const START_TIMEOUT_MS = 20_000;

/** In-memory stand-in for an entropy server: the same BLAST work without network, TLS or sealing. */
class MemorySource implements EntropySource {
  private readonly samples = new Map<string, Uint8Array>();
  constructor(readonly serverId: string) {}
  async lease(bytes: number, _readers: readonly string[], deadline: number): Promise<LeasedSample> {
    const sample = new Uint8Array(randomBytes(bytes));
    const ref: SampleRef = {
      serverId: this.serverId,
      poolId: randomUUID(),
      offset: 0,
      length: bytes,
      notAfter: deadline,
    };
    this.samples.set(ref.poolId, sample.slice());
    return { ref, bytes: sample };
  }
  async read(ref: SampleRef): Promise<Uint8Array> {
    const sample = this.samples.get(ref.poolId)!;
    this.samples.delete(ref.poolId);
    return sample;
  }
}

interface Sources {
  readonly source: readonly EntropySource[];
  readonly target: readonly EntropySource[];
}

/** Generates blocks for a while, then regenerates each; Mbit/s of block output for both phases. */
async function measure(
  blockBits: number,
  sources: Sources,
): Promise<{ generate: number; regenerate: number }> {
  const generated: GeneratedBlock[] = [];
  const started = process.hrtime.bigint();
  const elapsed = (since: bigint) => Number(process.hrtime.bigint() - since) / 1e9;
  do {
    const now = Date.now();
    generated.push(
      await generateBlock({
        source: 'kme-east',
        target: 'kme-west',
        blockBits,
        minEntropyRate: MIN_ENTROPY_RATE,
        sources: sources.source,
        now,
        expiresAt: now + 600_000,
      }),
    );
  } while (elapsed(started) < ROUND_SECONDS && generated.length < MAX_BLOCKS_PER_ROUND);
  const generateSeconds = elapsed(started);
  const regenerating = process.hrtime.bigint();
  for (const block of generated) await regenerateBlock(block.metadata, sources.target);
  const regenerateSeconds = elapsed(regenerating);
  const bits = generated.length * blockBits;
  return { generate: bits / generateSeconds / 1e6, regenerate: bits / regenerateSeconds / 1e6 };
}

function start(network: EntropyNetwork, id: string): Promise<ChildProcess> {
  const main = path.resolve(__dirname, '../../../../../apps/entropy-server/dist/main.js');
  const env = network.serverEnv(id, { ENTROPY_POOL_BYTES: String(64 * 1024 * 1024) });
  const child = spawn(process.execPath, [main], {
    env: { PATH: process.env['PATH'] ?? '', ...env },
    stdio: 'pipe',
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + START_TIMEOUT_MS;
    const poll = setInterval(() => {
      if (output.includes(`entropy-server of ${id} is running`)) {
        clearInterval(poll);
        resolve(child);
      } else if (child.exitCode !== null || Date.now() > deadline) {
        clearInterval(poll);
        child.kill('SIGKILL');
        reject(new Error(`${id} did not start:\n${output}`));
      }
    }, 50);
  });
}

async function main(): Promise<void> {
  const network = await EntropyNetwork.create();
  const children: ChildProcess[] = [];
  let east: KmeEntropySources | undefined;
  let west: KmeEntropySources | undefined;
  try {
    children.push(...(await Promise.all(SERVERS.map((id) => start(network, id)))));
    east = createEntropySources(network.network, await network.credentials('kme-east'));
    west = createEntropySources(network.network, await network.credentials('kme-west'));
    const memory = SERVERS.map((id) => new MemorySource(id));
    console.log(
      `BLAST blocks, t=${SERVERS.length}, h=${MIN_ENTROPY_RATE}, one core, Node ${process.version}`,
    );
    console.log(
      'block      in memory: generate  regenerate   3 servers (mTLS + sealed): generate  regenerate  (Mbit/s)',
    );
    for (const blockBits of [65536, 1 << 20]) {
      const local = await measure(blockBits, { source: memory, target: memory });
      const remote = await measure(blockBits, { source: east.forGeneration, target: west.all });
      const fmt = (value: number) => value.toFixed(1).padStart(10);
      console.log(
        `${`${blockBits / 1024} kbit`.padEnd(11)}${fmt(local.generate)}${fmt(local.regenerate).padStart(12)}` +
          `${fmt(remote.generate).padStart(37)}${fmt(remote.regenerate).padStart(12)}`,
      );
    }
  } finally {
    east?.close();
    west?.close();
    for (const child of children) child.kill('SIGTERM');
    network.remove();
  }
}

void main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
