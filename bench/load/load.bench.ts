/**
 * Load benchmark of the two-site network (issue 4): enc_keys with number=1 and number=100 and the enc→dec
 * round trip over mutual TLS, from 16 kept-alive clients, beside a bare Node mutual-TLS server measured in
 * the same run with the same load generator, before each of those scenarios and after the last. Starts the
 * baseline server and the embedded default (built: `npx nx run @dqkd/embedded:build`) in a temporary
 * DQKD_HOME on free 127.0.0.1 ports and stops both at the end, also on failure or Ctrl-C. Not a test: the
 * figures depend on the machine.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import * as path from 'node:path';

import { ensureDevPki } from '@dqkd/pki';

import { LISTENING } from './bare-server';
import { ownCpuSeconds, treeCpuSeconds } from './cpu-time';
import { EmbeddedNetwork, RAISED_SAE_RATE } from './embedded-network';
import { Connection, runLoad, sleep, type Answer, type Measurement, type Outcome } from './load-generator';
import { quietPools } from './quiet-pools';
import { formatCpuTable, formatFailures, formatTable, type CpuPart, type Figures } from './report';

const WORKSPACE = path.resolve(__dirname, '../../..');
const CLIENTS = 16;
const WARMUP_MS = 2_000;
const DURATION_MS = 10_000;
const REQUEST_TIMEOUT_MS = 10_000;
const NETWORK_START_TIMEOUT_MS = 180_000;
const BARE_START_TIMEOUT_MS = 15_000;
const NETWORK_STOP_TIMEOUT_MS = 30_000;
/** How long a scenario waits for the pools to be full and the key-generators idle. */
const QUIET_TIMEOUT_MS = 120_000;
/** Only for measuring lag: how long a key may take to become decodable before it counts as lost. */
const LAG_GIVE_UP_MS = 5_000;
const MAX_LAG_MS = 50;

const ENC_PATH = '/api/v1/keys/sae-bob/enc_keys';
const DEC_PATH = '/api/v1/keys/sae-alice/dec_keys';

interface Identity {
  readonly cert: string;
  readonly key: string;
  readonly ca: string;
}

interface Key {
  readonly key_ID: string;
  readonly key: string;
}

/** A failure reason that groups alike answers: status and message, key IDs left out. */
function failure(route: string, answer: Answer): Outcome {
  const general = messageOf(answer).replace(
    /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi,
    '<key_ID>',
  );
  return { ok: false, failure: `${route} HTTP ${answer.status}: ${general.slice(0, 100)}` };
}

function messageOf(answer: Answer): string {
  try {
    return String((JSON.parse(answer.text) as { message?: unknown }).message ?? '');
  } catch {
    return 'no JSON body';
  }
}

function keysOf(answer: Answer): Key[] {
  return (JSON.parse(answer.text) as { keys: Key[] }).keys;
}

/** A request answered like enc_keys number=1 by the bare server: one 32-byte key. */
async function bareStep(bare: Connection): Promise<Outcome> {
  const answer = await bare.post(ENC_PATH, { number: 1 });
  if (answer.status !== 200) return failure('bare', answer);
  const key = (JSON.parse(answer.text) as { key: string }).key;
  return Buffer.from(key, 'base64').length === 32
    ? { ok: true, units: 1 }
    : { ok: false, failure: 'bare: not 32 bytes' };
}

async function encStep(alice: Connection, number: number): Promise<Outcome> {
  const answer = await alice.post(ENC_PATH, { number });
  return answer.status === 200 ? { ok: true, units: keysOf(answer).length } : failure('enc_keys', answer);
}

/** Alice's enc at kme-east, then at once Bob's dec of that key at kme-west: one attempt, same material. */
async function roundTripStep(sites: { alice: Connection; bob: Connection }): Promise<Outcome> {
  const enc = await sites.alice.post(ENC_PATH, { number: 1 });
  if (enc.status !== 200) return failure('enc_keys', enc);
  const [sent] = keysOf(enc);
  const dec = await sites.bob.post(DEC_PATH, { key_IDs: [{ key_ID: sent!.key_ID }] });
  if (dec.status !== 200) return failure('dec_keys', dec);
  return keysOf(dec)[0]?.key === sent!.key
    ? { ok: true, units: 1 }
    : { ok: false, failure: 'dec_keys: other material' };
}

/** Like the round trip, but Bob retries every 1 ms until his dec succeeds: enc answered → dec answered. */
async function lagStep(sites: { alice: Connection; bob: Connection }): Promise<Outcome> {
  const enc = await sites.alice.post(ENC_PATH, { number: 1 });
  if (enc.status !== 200) return failure('enc_keys', enc);
  const answered = performance.now();
  const [sent] = keysOf(enc);
  for (;;) {
    const dec = await sites.bob.post(DEC_PATH, { key_IDs: [{ key_ID: sent!.key_ID }] });
    const lagMs = performance.now() - answered;
    if (dec.status === 200) {
      return keysOf(dec)[0]?.key === sent!.key
        ? { ok: true, units: 1, lagMs }
        : { ok: false, failure: 'dec_keys: other material' };
    }
    if (lagMs > LAG_GIVE_UP_MS) return { ok: false, failure: `not decodable within ${LAG_GIVE_UP_MS} ms` };
    await sleep(1);
  }
}

function readIdentity(pkiDir: string, id: string): Identity {
  const read = (file: string) => readFileSync(path.join(pkiDir, file), 'utf8');
  return { cert: read(`${id}.pem`), key: read(`${id}.key`), ca: read('ca.pem') };
}

async function startBareServer(pkiDir: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [path.join(__dirname, 'bare-server.js'), pkiDir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const deadline = Date.now() + BARE_START_TIMEOUT_MS;
  for (;;) {
    const port = new RegExp(`${LISTENING}(\\d+)`).exec(output)?.[1];
    if (port !== undefined) return { child, port: Number(port) };
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the bare server did not start:\n${output}`);
    }
    await sleep(50);
  }
}

/**
 * CPU seconds so far of the load generator (this process) and of the server process `pid` with its children;
 * Postgres only for the network, whose embedded clusters run under it.
 */
function cpuOf(pid: number | undefined, withPostgres: boolean): () => Record<CpuPart, number> {
  return () => {
    const server = pid === undefined ? { other: NaN, postgres: NaN } : treeCpuSeconds(pid);
    return {
      'load generator': ownCpuSeconds(),
      'server (Node)': server.other,
      // The bare server has no Postgres: NaN prints as "-".
      Postgres: withPostgres ? server.postgres : NaN,
    };
  };
}

async function measure<Worker>(
  settle: () => Promise<void>,
  name: string,
  cpu: () => Record<CpuPart, number>,
  open: () => Worker,
  step: (worker: Worker) => Promise<Outcome>,
  close: (worker: Worker) => void,
): Promise<Measurement> {
  await settle();
  process.stderr.write(`measuring ${name} (${WARMUP_MS / 1000} s warm-up + ${DURATION_MS / 1000} s)…\n`);
  return runLoad({ workers: CLIENTS, warmupMs: WARMUP_MS, durationMs: DURATION_MS, open, step, close, cpu });
}

async function main(): Promise<void> {
  const home = mkdtempSync(path.join(tmpdir(), 'dqkd-load-'));
  const pkiDir = path.join(home, 'pki');
  let bareServer: ChildProcess | undefined;
  let network: EmbeddedNetwork | undefined;
  let stopping: Promise<void> | undefined;
  const stopAll = () =>
    (stopping ??= (async () => {
      bareServer?.kill('SIGTERM');
      const exit = await network?.stop(NETWORK_STOP_TIMEOUT_MS);
      if (exit === 'killed') process.stderr.write('the network did not stop on SIGINT and was killed\n');
      else if (exit !== undefined && exit !== 0) process.stderr.write(`the network exited with ${exit}\n`);
      rmSync(home, { recursive: true, force: true });
    })());
  process.once('SIGINT', () => void stopAll().finally(() => process.exit(130)));
  process.once('SIGTERM', () => void stopAll().finally(() => process.exit(143)));

  try {
    // The same PKI the network would create for itself, made first so the baseline can use it.
    await ensureDevPki({ dir: pkiDir });
    const baseline = await startBareServer(pkiDir);
    bareServer = baseline.child;
    process.stderr.write(`starting the embedded network in ${home}…\n`);
    const started = await EmbeddedNetwork.start(WORKSPACE, home);
    network = started.network;
    await network.running(NETWORK_START_TIMEOUT_MS);
    const { east, west } = started.ports;
    const alice = readIdentity(pkiDir, 'sae-alice');
    const bob = readIdentity(pkiDir, 'sae-bob');
    const connect = (port: number, identity: Identity) => new Connection(port, identity, REQUEST_TIMEOUT_MS);
    const sites = () => ({ alice: connect(east, alice), bob: connect(west, bob) });
    const closeSites = (s: { alice: Connection; bob: Connection }) => (s.alice.close(), s.bob.close());
    const quiet = () => quietPools(started.network.keyGeneratorMetrics, QUIET_TIMEOUT_MS);
    const networkCpu = cpuOf(network.pid, true);

    const measureBare = () =>
      measure(
        quiet,
        'the bare server',
        cpuOf(baseline.child.pid, false),
        () => connect(baseline.port, alice),
        bareStep,
        (c) => c.close(),
      );
    // The bare server around each rated scenario (see Figures.bare): the machine's speed drifts.
    const bare: Measurement[] = [await measureBare()];
    const encKeys = (number: number) =>
      measure(
        quiet,
        `enc_keys number=${number}`,
        networkCpu,
        () => connect(east, alice),
        (c) => encStep(c, number),
        (c) => c.close(),
      );
    const enc1 = await encKeys(1);
    bare.push(await measureBare());
    const enc100 = await encKeys(100);
    bare.push(await measureBare());
    const roundTrip = await measure(
      quiet,
      'the enc→dec round trip',
      networkCpu,
      sites,
      roundTripStep,
      closeSites,
    );
    bare.push(await measureBare());
    const lag = await measure(quiet, 'the replication lag', networkCpu, sites, lagStep, closeSites);
    const figures: Figures = { bare, enc1, enc100, roundTrip, lag };

    const cores = cpus();
    console.log(
      [
        '',
        `DQKD load benchmark, ${new Date().toISOString()}, Node ${process.version}, ${cores.length} cores (${cores[0]?.model.trim() ?? 'unknown CPU'})`,
        `${CLIENTS} concurrent clients, each with kept-alive mutual-TLS connections, ${WARMUP_MS / 1000} s warm-up + ${DURATION_MS / 1000} s per scenario, all on 127.0.0.1.`,
        `The embedded network (one process, both sites) with its per-SAE rate limit raised to ${RAISED_SAE_RATE} req/s (burst ${RAISED_SAE_RATE})`,
        "in the benchmark's network.yaml; every other limit as in config/network.example.yaml. The bare server (its own process)",
        'has the same TLS settings and certificate and answers each request with 32 random bytes, base64, in JSON. It is',
        "measured before each rated scenario and after the last; a scenario's target is against the two runs around it.",
        "Each scenario starts once every pool is full and the key-generators idle (the pools' ready bytes stopped changing).",
        "Latencies of successful requests; a round trip is Alice's enc at kme-east then one dec by Bob at kme-west.",
        'Lag row: p50/p99 are the lag, enc answered → first successful dec answered, Bob retrying every 1 ms (a run of its own).',
        '',
        formatTable(figures, MAX_LAG_MS),
        '',
        `CPU per request, key or round trip over each scenario's window, from /proc; ${cores.length} cores in all. The server`,
        "side's budget at a target: the cores at the target's rate, less the load generator's CPU at that rate.",
        '',
        formatCpuTable(figures, cores.length),
      ].join('\n'),
    );
    const failures = formatFailures(figures);
    if (failures.length > 0)
      console.log(['', 'failures (HTTP 503 = pool drained or busy):', ...failures].join('\n'));
    const { warnings } = network;
    if (warnings.count > 0) {
      console.log(`\nthe network logged ${warnings.count} warnings or errors under load, the first:`);
      for (const line of warnings.first) console.log(`  ${line}`);
    }
  } finally {
    await stopAll();
  }
}

void main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exitCode = 1;
});
