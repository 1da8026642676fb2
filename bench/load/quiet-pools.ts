/**
 * Waits until the network's key-generators have filled every pool and stopped: the pools' ready bytes no
 * longer change. Generating and regenerating blocks takes much of the machine, so a scenario measured while a
 * pool still fills (after start-up, or after the scenario before drained it) would measure that work too.
 */
import { sleep } from './load-generator';

const POLL_MS = 1_000;
const READY_BYTES = /^dqkd_pool_ready_bytes\{[^}]*\} (\S+)$/gm;

/** The metrics URLs of the key-generators in the launcher's banner. */
export function keyGeneratorMetrics(output: string): string[] {
  return [...output.matchAll(/^ {2}metrics key-generator \S+: (http:\/\/\S+\/metrics)$/gm)].map((m) => m[1]!);
}

async function readyBytes(urls: readonly string[]): Promise<number> {
  const texts = await Promise.all(urls.map(async (url) => (await fetch(url)).text()));
  return texts.reduce(
    (sum, text) => sum + [...text.matchAll(READY_BYTES)].reduce((each, m) => each + Number(m[1]), 0),
    0,
  );
}

/** Resolves once two readings a second apart agree, or after `timeoutMs` (then says so on stderr). */
export async function quietPools(urls: readonly string[], timeoutMs: number): Promise<void> {
  if (urls.length === 0) throw new Error('the launcher printed no key-generator metrics URL');
  const deadline = Date.now() + timeoutMs;
  let last = await readyBytes(urls);
  while (Date.now() < deadline) {
    await sleep(POLL_MS);
    const now = await readyBytes(urls);
    if (now === last) return;
    last = now;
  }
  process.stderr.write(`the pools were still filling after ${timeoutMs / 1000} s; measuring anyway\n`);
}
