export {
  BLOCK_BURN_REASONS,
  BLOCKS_BURNED,
  blocksBurnedProvider,
  linkLabel,
  linkLabelValues,
  type BlockBurnReason,
} from './domain-metrics';
export { CERTIFICATE_NOT_AFTER, CertificateExpiry, certificateExpiryProviders } from './certificate-metrics';
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
  histogramProvider,
  InjectMetric,
  MetricDefinitionError,
  metricToken,
  MetricsModule,
  type GaugeSpec,
  type HistogramSpec,
  type MetricSpec,
  type MetricsOptions,
} from './metrics.module';
export { Histogram, Registry, type Counter, type Gauge } from 'prom-client';
export { ExpositionError, parseExposition, type Exposition, type Sample } from './exposition';
