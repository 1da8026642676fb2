export {
  labelCombinations,
  MAX_LABEL_VALUES,
  METRIC_PREFIX,
  metricProblem,
  type BoundedLabels,
  type MetricKind,
} from './metric-names';
export {
  counterProvider,
  gaugeProvider,
  InjectMetric,
  MetricDefinitionError,
  metricToken,
  MetricsModule,
  type MetricSpec,
} from './metrics.module';
export type { Counter, Gauge } from 'prom-client';
