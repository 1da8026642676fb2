import type { MetricsEndpoint, Scrape } from '../observe';

/** Every app's scrape at one instant. */
export interface Snapshot {
  readonly at: number;
  readonly apps: readonly { readonly endpoint: MetricsEndpoint; readonly scrape: Scrape }[];
}

export type Labels = Readonly<Record<string, string>>;
/** One app, or several whose series add up (as a PromQL sum without a job selector adds them). */
export type Apps = string | readonly string[];
export type Point = readonly [at: number, value: number];
export interface Series {
  readonly name: string;
  readonly points: readonly Point[];
}

/**
 * Scrapes over time, queried the way the dashboard's PromQL reads Prometheus: the `site` a deployment's
 * scrape config adds is the KME that owns the app here, so series group by it as on the real dashboard.
 */
export class History {
  constructor(readonly snapshots: readonly Snapshot[]) {}

  /** Sum of `name` over the apps of `app`, grouped by `by` (label names, `site` included), at each scrape. */
  gauge(app: Apps, name: string, by: readonly string[], match: Labels = {}): Series[] {
    return this.grouped(app, name, by, match, (value) => value);
  }

  /** Per-second increase of a counter between consecutive scrapes, grouped like `gauge`. */
  rate(app: Apps, name: string, by: readonly string[], match: Labels = {}): Series[] {
    const totals = this.gauge(app, name, by, match);
    return totals.map(({ name: label, points }) => ({
      name: label,
      points: points.slice(1).map(([at, value], i) => {
        const [before, previous] = points[i]!;
        return [at, Math.max(0, value - previous) / ((at - before) / 1000)] as const;
      }),
    }));
  }

  /** histogram_quantile over the increase of a histogram between consecutive scrapes, per `by` group. */
  quantile(q: number, app: string, name: string, by: readonly string[], match: Labels = {}): Series[] {
    const buckets = this.rate(app, `${name}_bucket`, [...by, 'le'], match);
    const groups = new Map<string, Map<number, Point[]>>();
    for (const series of buckets) {
      const le = /le=(\S+)$/.exec(series.name)![1]!;
      const group = series.name.replace(/ ?le=\S+$/, '');
      const byLe = groups.get(group) ?? new Map<number, Point[]>();
      byLe.set(le === '+Inf' ? Infinity : Number(le), [...series.points]);
      groups.set(group, byLe);
    }
    return [...groups].map(([group, byLe]) => {
      const bounds = [...byLe.keys()].sort((a, b) => a - b);
      const instants = byLe.get(bounds[0]!)!.map(([at]) => at);
      const points = instants.flatMap((at, i): Point[] => {
        const value = histogramQuantile(
          q,
          bounds.map((le) => [le, byLe.get(le)![i]![1]] as const),
        );
        return value === undefined ? [] : [[at, value]];
      });
      return { name: `${group} p${q * 100}`.trim(), points };
    });
  }

  private grouped(
    app: Apps,
    name: string,
    by: readonly string[],
    match: Labels,
    value: (v: number) => number,
  ): Series[] {
    const groups = new Map<string, Point[]>();
    const apps: readonly string[] = typeof app === 'string' ? [app] : app;
    for (const snapshot of this.snapshots) {
      const sums = new Map<string, number>();
      for (const { endpoint, scrape } of snapshot.apps.filter((each) => apps.includes(each.endpoint.app))) {
        for (const sample of scrape.select(name, match)) {
          const labels: Labels = { site: endpoint.owner, server: endpoint.owner, ...sample.labels };
          const key = by
            .map(
              (label) => `${label === 'site' || label === 'server' ? '' : `${label}=`}${labels[label] ?? ''}`,
            )
            .join(' ');
          sums.set(key, (sums.get(key) ?? 0) + sample.value);
        }
      }
      for (const [key, sum] of sums) groups.set(key, [...(groups.get(key) ?? []), [snapshot.at, value(sum)]]);
    }
    return [...groups].map(([key, points]) => ({ name: key, points }));
  }
}

/** Prometheus' histogram_quantile: linear interpolation inside the bucket holding the rank. */
export function histogramQuantile(
  q: number,
  buckets: readonly (readonly [number, number])[],
): number | undefined {
  const total = buckets[buckets.length - 1]?.[1] ?? 0;
  if (total === 0) return undefined;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const [le, count] of buckets) {
    if (count >= rank) {
      if (le === Infinity) return lowerBound;
      return lowerBound + ((le - lowerBound) * (rank - lowerCount)) / Math.max(count - lowerCount, 1e-12);
    }
    lowerBound = le;
    lowerCount = count;
  }
  return lowerBound;
}
