import { Controller, Get, Module, Res, type DynamicModule, type Provider } from '@nestjs/common';
import {
  getToken,
  InjectMetric as InjectPrometheusMetric,
  PrometheusController,
  PrometheusModule,
} from '@willsoto/nestjs-prometheus';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

import {
  labelCombinations,
  METRIC_PREFIX,
  metricProblem,
  type BoundedLabels,
  type MetricKind,
} from './metric-names';

export interface MetricSpec {
  /** Full name, `dqkd_` included, in base units; counters end with `_total`. */
  readonly name: string;
  readonly help: string;
  readonly labels?: BoundedLabels;
}

export interface GaugeSpec<Deps extends unknown[] = unknown[]> extends MetricSpec {
  /** Providers handed to `collect`, e.g. the ledger a pool gauge reads. */
  readonly inject?: readonly (string | symbol | (abstract new (...args: never[]) => unknown))[];
  /** Sets the gauge's series just before each scrape, so the value is read where it lives, never cached. */
  readonly collect?: (gauge: Gauge, ...deps: Deps) => Promise<void> | void;
}

export interface HistogramSpec extends MetricSpec {
  /** Upper bounds in the metric's base unit, ascending. */
  readonly buckets: readonly number[];
}

export interface MetricsOptions {
  /**
   * Labels on every series of this app, e.g. the entropy server's `server`. Deployments add `site` and `job`
   * when they scrape, so those are never set here.
   */
  readonly defaultLabels?: Readonly<Record<string, string>>;
}

/**
 * prom-client's default gauges that end in `_total`, which `promtool check metrics` refuses (only counters
 * may); the same counts stay available, by type, in `nodejs_active_handles` and its siblings.
 */
const MISNAMED_DEFAULTS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

/** A metric that breaks the naming rules is a programming error: the process refuses to start. */
export class MetricDefinitionError extends Error {
  override readonly name = 'MetricDefinitionError';
}

/**
 * prom-client's global registry would be shared by every app of the embedded process (and of a test that
 * starts two sites); each application gets its own, so /metrics of one app shows that app's series only.
 */
@Controller()
class RegistryController extends PrometheusController {
  constructor(private readonly registry: Registry) {
    super();
  }

  @Get()
  override async index(
    @Res({ passthrough: true }) response: { header(name: string, value: string): unknown },
  ) {
    response.header('Content-Type', this.registry.contentType);
    return this.registry.metrics();
  }
}

@Module({})
export class MetricsModule {
  /**
   * `GET /metrics` in Prometheus' text format on the application's own HTTP server (the plain-HTTP
   * health port of runProcess), with Node's default process metrics under the `dqkd_` prefix, from a
   * registry of this application's own. Global, so feature modules only provide their metrics with
   * `counterProvider` / `gaugeProvider` / `histogramProvider`.
   */
  static forRoot(options: MetricsOptions = {}): DynamicModule {
    const registry: Provider = {
      provide: Registry,
      useFactory: () => {
        const created = new Registry();
        created.setDefaultLabels({ ...options.defaultLabels });
        collectDefaultMetrics({ register: created, prefix: METRIC_PREFIX });
        for (const name of MISNAMED_DEFAULTS) created.removeSingleMetric(`${METRIC_PREFIX}${name}`);
        return created;
      },
    };
    return {
      module: MetricsModule,
      global: true,
      imports: [
        PrometheusModule.register({
          global: true,
          path: '/metrics',
          controller: RegistryController,
          // Collected into the app's registry above; the module's own switch would use the global one.
          defaultMetrics: { enabled: false },
        }),
      ],
      providers: [registry],
      exports: [registry],
    };
  }
}

function checked(kind: MetricKind, spec: MetricSpec): BoundedLabels {
  const labels = spec.labels ?? {};
  const problem = metricProblem(kind, spec.name, labels);
  if (problem) throw new MetricDefinitionError(problem);
  return labels;
}

/**
 * A provider of one metric in the application's registry, under the token InjectMetric reads; every labelled
 * series starts at 0, so a rate or an alert sees the first event.
 */
function metricProvider<Metric>(
  spec: MetricSpec,
  kind: MetricKind,
  create: (registry: Registry, labelNames: string[], deps: unknown[]) => Metric,
  start: (metric: Metric, series: Record<string, string>) => void,
  inject: GaugeSpec['inject'] = [],
): Provider {
  const labels = checked(kind, spec);
  return {
    provide: getToken(spec.name),
    inject: [Registry, ...inject],
    useFactory: (registry: Registry, ...deps: unknown[]) => {
      const metric = create(registry, Object.keys(labels), deps);
      if (Object.keys(labels).length > 0) {
        for (const series of labelCombinations(labels)) start(metric, series);
      }
      return metric;
    },
  };
}

export function counterProvider(spec: MetricSpec): Provider {
  return metricProvider(
    spec,
    'counter',
    (registry, labelNames) => new Counter({ ...names(spec), labelNames, registers: [registry] }),
    (metric, series) => metric.inc(series, 0),
  );
}

export function gaugeProvider<Deps extends unknown[]>(spec: GaugeSpec<Deps>): Provider {
  const collect = spec.collect;
  return metricProvider(
    spec,
    'gauge',
    (registry, labelNames, deps) =>
      new Gauge({
        ...names(spec),
        labelNames,
        registers: [registry],
        ...(collect && {
          collect(this: Gauge) {
            return collect(this, ...(deps as Deps));
          },
        }),
      }),
    (metric, series) => metric.inc(series, 0),
    spec.inject,
  );
}

export function histogramProvider(spec: HistogramSpec): Provider {
  return metricProvider(
    spec,
    'histogram',
    (registry, labelNames) =>
      new Histogram({ ...names(spec), labelNames, buckets: [...spec.buckets], registers: [registry] }),
    (metric, series) => metric.zero(series),
  );
}

const names = (spec: MetricSpec) => ({ name: spec.name, help: spec.help });

/** Injects a metric provided by `counterProvider`, `gaugeProvider` or `histogramProvider`, by its full name. */
export const InjectMetric = (name: string): PropertyDecorator & ParameterDecorator =>
  InjectPrometheusMetric(name);

export const metricToken = (name: string): string => getToken(name);
