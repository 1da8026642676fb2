import { Module, type DynamicModule, type Provider } from '@nestjs/common';
import {
  getToken,
  InjectMetric as InjectPrometheusMetric,
  makeCounterProvider,
  makeGaugeProvider,
  PrometheusModule,
} from '@willsoto/nestjs-prometheus';
import { register, type Counter, type Gauge } from 'prom-client';

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

/** A metric that breaks the naming rules is a programming error: the process refuses to start. */
export class MetricDefinitionError extends Error {
  override readonly name = 'MetricDefinitionError';
}

// A probe of one default metric: collectDefaultMetrics throws if called twice on one registry,
// which happens whenever a process (or a test file) creates a second Nest application.
const DEFAULT_METRIC_PROBE = `${METRIC_PREFIX}process_cpu_user_seconds_total`;

@Module({})
export class MetricsModule {
  /**
   * `GET /metrics` in Prometheus' text format on the application's own HTTP server (the plain-HTTP
   * health port of runProcess), with Node's default process metrics under the `dqkd_` prefix.
   * Global, so feature modules only provide their metrics with `counterProvider` / `gaugeProvider`.
   */
  static forRoot(): DynamicModule {
    return {
      module: MetricsModule,
      global: true,
      imports: [
        PrometheusModule.register({
          global: true,
          path: '/metrics',
          defaultMetrics: {
            enabled: register.getSingleMetric(DEFAULT_METRIC_PROBE) === undefined,
            config: { prefix: METRIC_PREFIX },
          },
        }),
      ],
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
 * A counter whose every labelled series starts at 0, so a rate or an alert sees the first event.
 * Values persist for the life of the process, across Nest applications in it.
 */
export function counterProvider(spec: MetricSpec): Provider {
  const labels = checked('counter', spec);
  const provider = makeCounterProvider({ name: spec.name, help: spec.help, labelNames: Object.keys(labels) });
  return withSeries(provider, labels, (metric: Counter, series) => metric.inc(series, 0));
}

export function gaugeProvider(spec: MetricSpec): Provider {
  const labels = checked('gauge', spec);
  const provider = makeGaugeProvider({ name: spec.name, help: spec.help, labelNames: Object.keys(labels) });
  return withSeries(provider, labels, (metric: Gauge, series) => metric.inc(series, 0));
}

/** Injects a metric provided by `counterProvider` or `gaugeProvider`, by its full name. */
export const InjectMetric = (name: string): PropertyDecorator & ParameterDecorator =>
  InjectPrometheusMetric(name);

export const metricToken = (name: string): string => getToken(name);

function withSeries<Metric>(
  provider: Provider,
  labels: BoundedLabels,
  start: (metric: Metric, series: Record<string, string>) => void,
): Provider {
  const factory = provider as { useFactory: (...args: unknown[]) => Metric };
  if (Object.keys(labels).length === 0) return provider;
  return {
    ...factory,
    useFactory: (...args: unknown[]) => {
      const metric = factory.useFactory(...args);
      for (const series of labelCombinations(labels)) start(metric, series);
      return metric;
    },
  } as Provider;
}
