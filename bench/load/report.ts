/** The benchmark's table: each figure beside the bare server's, and its ratio against issue 4's target. */
import type { Measurement } from './load-generator';

/** The scenarios with a throughput target, in the order they run; the bare server is measured around each. */
export const RATED = ['enc1', 'enc100', 'roundTrip'] as const;
export type Rated = (typeof RATED)[number];

export interface Figures {
  /**
   * The bare server, measured before each rated scenario and once after the last: `bare[k]` and `bare[k + 1]`
   * bracket `RATED[k]`, so a machine whose speed drifts during the run moves the baseline with it.
   */
  readonly bare: readonly Measurement[];
  readonly enc1: Measurement;
  readonly enc100: Measurement;
  readonly roundTrip: Measurement;
  readonly lag: Measurement;
}

interface Row {
  readonly name: string;
  readonly run: Measurement;
  /** What the target compares, e.g. keys/s against the bare server's requests/s around it. */
  readonly figure?: { readonly label: string; readonly value: number; readonly minRatio: number };
  readonly baseline?: number;
}

const rate = (run: Measurement, count: number) => count / run.seconds;
const fixed = (value: number, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : '-');

/**
 * The bare server's requests/s a rated scenario is held against: the mean of the runs
 * just before and after it.
 */
export function baselineOf(figures: Figures, scenario: Rated): number {
  const k = RATED.indexOf(scenario);
  const around = [figures.bare[k], figures.bare[k + 1]].filter((run) => run !== undefined);
  if (around.length === 0) throw new RangeError(`no bare server run around ${scenario}`);
  return around.reduce((sum, run) => sum + rate(run, run.succeeded), 0) / around.length;
}

/** Each rated scenario: its row, what it counts per second and against what share of the bare server. */
const TARGETS: Record<
  Rated,
  { name: string; short: string; label: string; unit: string; minRatio: number; count: 'succeeded' | 'units' }
> = {
  enc1: {
    name: 'enc_keys number=1',
    short: 'number=1',
    label: 'req/s',
    unit: 'req',
    minRatio: 0.5,
    count: 'succeeded',
  },
  enc100: {
    name: 'enc_keys number=100',
    short: 'number=100',
    label: 'keys/s',
    unit: 'key',
    minRatio: 0.5,
    count: 'units',
  },
  roundTrip: {
    name: 'enc→dec round trip, no retry',
    short: 'round trip',
    label: 'trips/s',
    unit: 'trip',
    minRatio: 0.25,
    count: 'succeeded',
  },
};
const LAG_NAME = 'replication lag, 1 ms retries';

/** Where bare run `k` sits among the scenarios. */
function bareName(k: number): string {
  return k < RATED.length
    ? `bare, before ${TARGETS[RATED[k]!].short}`
    : `bare, after ${TARGETS[RATED[k - 1]!].short}`;
}

export function formatTable(figures: Figures, maxLagMs: number): string {
  const rows: Row[] = [
    ...figures.bare.map((run, k) => ({ name: bareName(k), run })),
    ...RATED.map((scenario) => {
      const { name, label, minRatio, count } = TARGETS[scenario];
      const run = figures[scenario];
      return {
        name,
        run,
        figure: { label, value: rate(run, run[count]), minRatio },
        baseline: baselineOf(figures, scenario),
      };
    }),
  ];
  const header = [
    'scenario'.padEnd(30),
    'req/s'.padStart(9),
    'keys/s'.padStart(10),
    'p50 ms'.padStart(8),
    'p99 ms'.padStart(8),
    'failed'.padStart(7),
    '  target vs bare req/s before and after',
  ].join('');
  const lines = [header, '-'.repeat(header.length + 18)];
  for (const { name, run, figure, baseline } of rows) {
    const failed = [...run.failures.values()].reduce((sum, n) => sum + n, 0);
    const verdict =
      figure === undefined || baseline === undefined
        ? '  baseline'
        : `  ${figure.label} ≥ ${figure.minRatio * 100} % of ${fixed(baseline, 0)}: ` +
          `${fixed((figure.value / baseline) * 100)} % ${figure.value / baseline >= figure.minRatio ? 'PASS' : 'MISS'}`;
    lines.push(
      [
        name.padEnd(30),
        fixed(rate(run, run.succeeded)).padStart(9),
        fixed(rate(run, run.units)).padStart(10),
        fixed(run.latencyMs.p50, 2).padStart(8),
        fixed(run.latencyMs.p99, 2).padStart(8),
        String(failed).padStart(7),
        verdict,
      ].join(''),
    );
  }
  const lag = figures.lag.lagMs;
  const lagFailed = [...figures.lag.failures.values()].reduce((sum, n) => sum + n, 0);
  // The lag row puts the lag, not the step's latency, under p50 and p99.
  lines.push(
    [
      LAG_NAME.padEnd(30),
      fixed(rate(figures.lag, figures.lag.succeeded)).padStart(9),
      fixed(rate(figures.lag, figures.lag.units)).padStart(10),
      fixed(lag?.p50 ?? NaN, 2).padStart(8),
      fixed(lag?.p99 ?? NaN, 2).padStart(8),
      String(lagFailed).padStart(7),
      `  lag p99 ≤ ${maxLagMs} ms: ${lag !== undefined && lag.p99 <= maxLagMs ? 'PASS' : 'MISS'}` +
        ` (max ${fixed(lag?.max ?? NaN)} ms)`,
    ].join(''),
  );
  return lines.join('\n');
}

/** The parts whose CPU the benchmark reads, in the order printed. */
export const CPU_PARTS = ['load generator', 'server (Node)', 'Postgres'] as const;
export type CpuPart = (typeof CPU_PARTS)[number];

/**
 * CPU per unit (request, key or round trip) of each part over each scenario's measured window, and what a
 * target leaves the server side: the machine's cores at the target's rate, less the load generator's share.
 */
export function formatCpuTable(figures: Figures, cores: number): string {
  const scenarios: { name: string; run: Measurement; unit: string; target?: number }[] = [
    ...figures.bare.map((run, k) => ({ name: bareName(k), run, unit: 'req' })),
    ...RATED.map((scenario) => {
      const { name, unit, minRatio } = TARGETS[scenario];
      return { name, run: figures[scenario], unit, target: minRatio * baselineOf(figures, scenario) };
    }),
    { name: LAG_NAME, run: figures.lag, unit: 'trip' },
  ];
  const header = [
    'µs of CPU per unit (cores busy)'.padEnd(40),
    ...CPU_PARTS.map((part) => part.padStart(18)),
    'idle cores'.padStart(11),
    '  server side now / at target',
  ].join('');
  const lines = [header, '-'.repeat(header.length + 8)];
  for (const { name, run, unit, target } of scenarios) {
    const used = run.cores ?? {};
    const unitsPerSecond = rate(run, run.units);
    const perUnit = (busy: number) => (busy / unitsPerSecond) * 1e6;
    const cell = (part: CpuPart) =>
      Number.isFinite(used[part]) ? `${fixed(perUnit(used[part]!), 0)} (${fixed(used[part]!, 2)})` : '-';
    const idle =
      cores - Object.values(used).reduce((sum, busy) => sum + (Number.isFinite(busy) ? busy : 0), 0);
    const server = perUnit((used['server (Node)'] ?? 0) + (used['Postgres'] ?? 0));
    // At the target's rate the load generator costs what it costs per unit now; the rest of the cores is the budget.
    const budget =
      target === undefined ? NaN : (cores / target) * 1e6 - perUnit(used['load generator'] ?? NaN);
    lines.push(
      [
        `${name}, per ${unit}`.padEnd(40),
        ...CPU_PARTS.map((part) => cell(part).padStart(18)),
        fixed(idle, 2).padStart(11),
        target === undefined ? '' : `  ${fixed(server, 0)} / ≤ ${fixed(budget, 0)} µs`,
      ].join(''),
    );
  }
  return lines.join('\n');
}

/** One line per failure reason and scenario, or nothing when every step succeeded. */
export function formatFailures(figures: Figures): string[] {
  const runs: [string, Measurement][] = [
    ...figures.bare.map((run, k): [string, Measurement] => [bareName(k), run]),
    ...RATED.map((scenario): [string, Measurement] => [scenario, figures[scenario]]),
    ['lag', figures.lag],
  ];
  return runs.flatMap(([scenario, run]) =>
    [...run.failures].map(([reason, count]) => `  ${scenario}: ${count} × ${reason}`),
  );
}
