/**
 * Waits until the network's key-generators have filled every pool and stopped: neither the pools' ready bytes
 * nor the count of blocks generated change any more. Generating and regenerating blocks takes much of the
 * machine, so a scenario measured while a pool still fills (after start-up, or after the scenario before
 * drained it) would measure that work too.
 */
import { sleep } from './load-generator';

const POLL_MS = 1_000;
/** Readings in a row that must agree: a block can stay pending at the target for about a second. */
const STABLE_READINGS = 3;
const POOL_SAMPLES = /^(?:dqkd_pool_ready_bytes|dqkd_blocks_generated_total)\{[^}]*\} (\S+)$/gm;

/** The metrics URLs of the key-generators in the launcher's banner. */
export function keyGeneratorMetrics(output: string): string[] {
  return [...output.matchAll(/^ {2}metrics key-generator \S+: (http:\/\/\S+\/metrics)$/gm)].map((m) => m[1]!);
}

/** Every ready-bytes and blocks-generated sample of every key-generator, as one string to compare. */
async function reading(urls: readonly string[]): Promise<string> {
  const texts = await Promise.all(urls.map(async (url) => (await fetch(url)).text()));
  return texts.map((text) => [...text.matchAll(POOL_SAMPLES)].map((m) => m[0]).join('\n')).join('\n');
}

/** Resolves once STABLE_READINGS readings a second apart agree, or after `timeoutMs` (then says so on stderr). */
export async function quietPools(urls: readonly string[], timeoutMs: number): Promise<void> {
  if (urls.length === 0) throw new Error('the launcher printed no key-generator metrics URL');
  const deadline = Date.now() + timeoutMs;
  let last = await reading(urls);
  let agreeing = 1;
  while (Date.now() < deadline) {
    await sleep(POLL_MS);
    const now = await reading(urls);
    agreeing = now === last ? agreeing + 1 : 1;
    if (agreeing >= STABLE_READINGS) return;
    last = now;
  }
  process.stderr.write(`the pools were still filling after ${timeoutMs / 1000} s; measuring anyway\n`);
}
