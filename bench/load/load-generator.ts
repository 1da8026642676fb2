/**
 * The one closed-loop load generator of the benchmark: N workers, each with its own kept-alive mutual-TLS
 * connections, repeat one step as fast as answers come back. Steps that start during the warm-up are not
 * counted; the run stops starting steps when its duration is over.
 */
import https from 'node:https';

/** What one step achieved: `units` keys or round trips when it succeeded, or why it failed. */
export type Outcome =
  | { readonly ok: true; readonly units: number; readonly lagMs?: number }
  | { readonly ok: false; readonly failure: string };

export interface Percentiles {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

export interface Measurement {
  readonly seconds: number;
  /** Steps that succeeded in the measured window. */
  readonly succeeded: number;
  readonly units: number;
  /** Latency of the steps that succeeded, in ms. */
  readonly latencyMs: Percentiles;
  /** Failed steps by reason, e.g. "enc_keys HTTP 503". */
  readonly failures: ReadonlyMap<string, number>;
  /** Replication lag in ms, when the steps report it. */
  readonly lagMs?: Percentiles;
  /** Cores busy during the measured window, by part, when the run was given a CPU reading. */
  readonly cores?: Readonly<Record<string, number>>;
}

export interface LoadOptions<Worker> {
  readonly workers: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly open: () => Worker;
  readonly step: (worker: Worker) => Promise<Outcome>;
  readonly close: (worker: Worker) => void;
  /** CPU seconds used so far, by part; read when the measured window opens and when it closes. */
  readonly cpu?: () => Readonly<Record<string, number>>;
}

/** A pause after a step that threw, so a refused connection cannot spin a worker. */
const ERROR_PAUSE_MS = 10;

export async function runLoad<Worker>(options: LoadOptions<Worker>): Promise<Measurement> {
  const started = performance.now();
  const measuredFrom = started + options.warmupMs;
  const stopAt = measuredFrom + options.durationMs;
  const latencies: number[] = [];
  const lags: number[] = [];
  const failures = new Map<string, number>();
  let units = 0;
  let lastAnswer = measuredFrom;

  const work = async (worker: Worker): Promise<void> => {
    while (performance.now() < stopAt) {
      const sent = performance.now();
      let outcome: Outcome;
      try {
        outcome = await options.step(worker);
      } catch (error) {
        outcome = { ok: false, failure: error instanceof Error ? error.message : String(error) };
        await sleep(ERROR_PAUSE_MS);
      }
      const answered = performance.now();
      if (sent < measuredFrom) continue;
      lastAnswer = Math.max(lastAnswer, answered);
      if (outcome.ok) {
        latencies.push(answered - sent);
        units += outcome.units;
        if (outcome.lagMs !== undefined) lags.push(outcome.lagMs);
      } else {
        failures.set(outcome.failure, (failures.get(outcome.failure) ?? 0) + 1);
      }
    }
  };

  const workers = Array.from({ length: options.workers }, () => options.open());
  const cores = options.cpu && cpuOverWindow(options.cpu, measuredFrom - started, stopAt - started);
  try {
    await Promise.all(workers.map(work));
  } finally {
    workers.forEach(options.close);
  }
  return {
    ...(cores !== undefined && { cores: await cores }),
    seconds: (Math.max(lastAnswer, stopAt) - measuredFrom) / 1000,
    succeeded: latencies.length,
    units,
    latencyMs: percentiles(latencies),
    failures,
    ...(lags.length > 0 && { lagMs: percentiles(lags) }),
  };
}

/** Cores busy by part between `fromMs` and `toMs` after now: CPU seconds used over the seconds elapsed. */
async function cpuOverWindow(
  cpu: () => Readonly<Record<string, number>>,
  fromMs: number,
  toMs: number,
): Promise<Record<string, number>> {
  await sleep(fromMs);
  const before = { at: performance.now(), used: cpu() };
  await sleep(toMs - fromMs);
  const after = { at: performance.now(), used: cpu() };
  const seconds = (after.at - before.at) / 1000;
  return Object.fromEntries(
    Object.entries(after.used).map(([part, used]) => [part, (used - (before.used[part] ?? 0)) / seconds]),
  );
}

/** Nearest-rank percentiles; all NaN when nothing was measured. */
export function percentiles(values: readonly number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
  if (sorted.length === 0) return { p50: NaN, p99: NaN, max: NaN };
  return { p50: rank(50)!, p99: rank(99)!, max: sorted[sorted.length - 1]! };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export interface Answer {
  readonly status: number;
  readonly text: string;
}

/** One kept-alive mutual-TLS connection to one server on 127.0.0.1. */
export class Connection {
  private readonly agent: https.Agent;

  constructor(
    private readonly port: number,
    identity: { readonly cert: string; readonly key: string; readonly ca: string },
    private readonly timeoutMs: number,
  ) {
    this.agent = new https.Agent({ keepAlive: true, maxSockets: 1, minVersion: 'TLSv1.2', ...identity });
  }

  post(path: string, json: unknown): Promise<Answer> {
    const body = Buffer.from(JSON.stringify(json), 'utf8');
    return new Promise((resolve, reject) => {
      const request = https.request(
        {
          host: '127.0.0.1',
          port: this.port,
          path,
          method: 'POST',
          agent: this.agent,
          headers: { 'content-type': 'application/json', 'content-length': body.length },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => {
            clearTimeout(timer);
            resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
          });
          response.on('error', fail);
        },
      );
      const timer = setTimeout(
        () => fail(new Error(`no answer within ${this.timeoutMs} ms`)),
        this.timeoutMs,
      );
      function fail(error: Error): void {
        clearTimeout(timer);
        request.destroy();
        reject(error);
      }
      request.on('error', fail);
      request.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
