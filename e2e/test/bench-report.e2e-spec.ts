import type { Measurement } from '../../bench/load/load-generator';
import { baselineOf, formatCpuTable, formatTable, type Figures } from '../../bench/load/report';

/** A 10-second run that answered `perSecond` requests a second, each of `units` keys. */
function run(perSecond: number, units = 1, cores?: Record<string, number>): Measurement {
  return {
    seconds: 10,
    succeeded: perSecond * 10,
    units: perSecond * 10 * units,
    latencyMs: { p50: 1, p99: 2, max: 3 },
    failures: new Map(),
    ...(cores === undefined ? {} : { cores }),
  };
}

describe("the load benchmark's report", () => {
  // The machine speeds up during the run: the bare server's rate doubles between the first and last runs.
  const figures: Figures = {
    bare: [run(1000), run(3000), run(2000), run(4000)],
    enc1: run(1000),
    enc100: run(10, 100),
    roundTrip: run(800),
    lag: { ...run(500), lagMs: { p50: 5, p99: 40, max: 60 } },
  };

  it('holds each rated scenario against the bare server runs just before and after it', () => {
    expect(baselineOf(figures, 'enc1')).toBe(2000);
    expect(baselineOf(figures, 'enc100')).toBe(2500);
    expect(baselineOf(figures, 'roundTrip')).toBe(3000);
  });

  it('prints each ratio against its own baseline, with its verdict', () => {
    const table = formatTable(figures, 50);
    // 1000 req/s against 2000 is exactly the 50 % asked for; against the mean of all four runs (2500) it would miss.
    expect(table).toMatch(/enc_keys number=1 .*req\/s ≥ 50 % of 2000: 50\.0 % PASS/);
    expect(table).toMatch(/enc_keys number=100 .*keys\/s ≥ 50 % of 2500: 40\.0 % MISS/);
    expect(table).toMatch(/round trip.*trips\/s ≥ 25 % of 3000: 26\.7 % PASS/);
    expect(table).toMatch(/replication lag.*lag p99 ≤ 50 ms: PASS/);
    expect(table.match(/^bare, /gm)).toHaveLength(4);
  });

  it("gives each target the CPU budget of its own baseline's rate", () => {
    const busy = { 'load generator': 0.2, 'server (Node)': 0.5, Postgres: 0.5 };
    const table = formatCpuTable({ ...figures, enc1: run(1000, 1, busy) }, 2);
    // At the target (1000 req/s) 2 cores give 2000 µs a request, less the load generator's 200 µs.
    expect(table).toMatch(/enc_keys number=1, per req .* 1000 \/ ≤ 1800 µs/);
  });
});
