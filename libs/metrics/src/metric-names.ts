export type MetricKind = 'counter' | 'gauge' | 'histogram';

/** Every DQKD metric starts with this, so one Prometheus query finds them all. */
export const METRIC_PREFIX = 'dqkd_';

/** A label with every value it may take: series stay bounded, so no ID, path or message can become a label. */
export type BoundedLabels = Readonly<Record<string, readonly string[]>>;

/** More values than this on one label is a sign the label is unbounded after all. */
export const MAX_LABEL_VALUES = 32;

const SNAKE_CASE = /^dqkd_[a-z][a-z0-9]*(?:_[a-z0-9]+)*$/;
// Prometheus' base units are seconds and bytes; scaled units make dashboards mix up factors.
const SCALED_UNIT =
  /_(?:(?:milli|micro|nano)seconds|ms|us|ns|minutes|hours|days|kb|mb|gb|kilobytes|megabytes|bits)(?:_total)?$/;
const LABEL_NAME = /^[a-z][a-z0-9_]*$/;

/**
 * Why a metric's name or labels break the house rules (prefix, snake case, base units, `_total` on
 * counters only, bounded labels), or undefined when they follow them.
 */
export function metricProblem(
  kind: MetricKind,
  name: string,
  labels: BoundedLabels = {},
): string | undefined {
  if (!SNAKE_CASE.test(name)) return `${name}: must be snake_case and start with ${METRIC_PREFIX}`;
  if (SCALED_UNIT.test(name)) return `${name}: use base units (seconds, bytes)`;
  const total = name.endsWith('_total');
  if (kind === 'counter' && !total) return `${name}: a counter's name ends with _total`;
  if (kind !== 'counter' && total) return `${name}: only counters end with _total`;
  for (const [label, values] of Object.entries(labels)) {
    if (!LABEL_NAME.test(label) || label.startsWith('__'))
      return `${name}: label "${label}" is not snake_case`;
    // Prometheus names a histogram's bucket bounds `le`; a label of that name would clash with them.
    if (kind === 'histogram' && label === 'le') return `${name}: a histogram cannot have a label "le"`;
    if (values.length === 0 || values.length > MAX_LABEL_VALUES) {
      return `${name}: label "${label}" must list 1 to ${MAX_LABEL_VALUES} values`;
    }
    if (new Set(values).size !== values.length) return `${name}: label "${label}" lists a value twice`;
  }
  return undefined;
}

/** Every combination of the labels' values, so each series exists (at 0) before its first event. */
export function labelCombinations(labels: BoundedLabels): Record<string, string>[] {
  return Object.entries(labels).reduce<Record<string, string>[]>(
    (combinations, [label, values]) =>
      combinations.flatMap((combination) => values.map((value) => ({ ...combination, [label]: value }))),
    [{}],
  );
}
