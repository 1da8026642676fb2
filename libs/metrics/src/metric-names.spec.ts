import { linkLabelValues } from './domain-metrics';
import { labelCombinations, metricProblem } from './metric-names';

describe('metricProblem', () => {
  it('accepts a prefixed counter in base units ending with _total', () => {
    expect(metricProblem('counter', 'dqkd_entropy_shredded_bytes_total')).toBeUndefined();
  });

  it('refuses a name without the dqkd_ prefix or not in snake case', () => {
    expect(metricProblem('gauge', 'entropy_pool_bytes')).toMatch(/start with dqkd_/);
    expect(metricProblem('gauge', 'dqkd_poolBytes')).toMatch(/snake_case/);
  });

  it('refuses a counter without _total and a gauge with it', () => {
    expect(metricProblem('counter', 'dqkd_leases')).toMatch(/ends with _total/);
    expect(metricProblem('gauge', 'dqkd_leases_total')).toMatch(/only counters/);
  });

  it('refuses scaled units', () => {
    expect(metricProblem('gauge', 'dqkd_lease_milliseconds')).toMatch(/base units/);
    expect(metricProblem('counter', 'dqkd_sample_kb_total')).toMatch(/base units/);
  });

  it('accepts a histogram in seconds and refuses one with an le label', () => {
    expect(
      metricProblem('histogram', 'dqkd_replication_lag_seconds', { kind: ['metadata'] }),
    ).toBeUndefined();
    expect(metricProblem('histogram', 'dqkd_x_seconds', { le: ['1'] })).toMatch(/"le"/);
  });

  it('refuses a label without a closed list of values', () => {
    expect(metricProblem('counter', 'dqkd_refusals_total', { reason: [] })).toMatch(/1 to 32 values/);
    const many = Array.from({ length: 33 }, (_, i) => `v${i}`);
    expect(metricProblem('counter', 'dqkd_refusals_total', { reason: many })).toMatch(/1 to 32 values/);
    expect(metricProblem('counter', 'dqkd_refusals_total', { reason: ['a', 'a'] })).toMatch(/twice/);
  });
});

describe('labelCombinations', () => {
  it('lists every combination of the label values', () => {
    expect(labelCombinations({ reason: ['a', 'b'], op: ['lease', 'read'] })).toEqual([
      { reason: 'a', op: 'lease' },
      { reason: 'a', op: 'read' },
      { reason: 'b', op: 'lease' },
      { reason: 'b', op: 'read' },
    ]);
  });

  it('gives the one unlabelled series when there are no labels', () => {
    expect(labelCombinations({})).toEqual([{}]);
  });
});

describe('linkLabelValues', () => {
  it('names each link source->target, and gives a KME without links one placeholder value', () => {
    expect(linkLabelValues([{ source: 'kme-east', target: 'kme-west' }])).toEqual(['kme-east->kme-west']);
    expect(linkLabelValues([])).toEqual(['none']);
  });
});
