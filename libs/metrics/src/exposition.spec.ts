import { ExpositionError, parseExposition } from './exposition';

describe('parseExposition', () => {
  it('reads types, plain samples and the samples of a labelled histogram', () => {
    const { types, samples } = parseExposition(
      [
        '# HELP dqkd_lag_seconds Lag.',
        '# TYPE dqkd_lag_seconds histogram',
        'dqkd_lag_seconds_bucket{le="0.1",kind="metadata"} 1',
        'dqkd_lag_seconds_bucket{le="+Inf",kind="metadata"} 2',
        'dqkd_lag_seconds_sum{kind="metadata"} 0.35',
        'dqkd_lag_seconds_count{kind="metadata"} 2',
        '# TYPE dqkd_up gauge',
        'dqkd_up 1 1700000000000',
        '',
      ].join('\n'),
    );
    expect(types).toEqual(
      new Map([
        ['dqkd_lag_seconds', 'histogram'],
        ['dqkd_up', 'gauge'],
      ]),
    );
    expect(samples).toEqual([
      { name: 'dqkd_lag_seconds_bucket', labels: { le: '0.1', kind: 'metadata' }, value: 1 },
      { name: 'dqkd_lag_seconds_bucket', labels: { le: '+Inf', kind: 'metadata' }, value: 2 },
      { name: 'dqkd_lag_seconds_sum', labels: { kind: 'metadata' }, value: 0.35 },
      { name: 'dqkd_lag_seconds_count', labels: { kind: 'metadata' }, value: 2 },
      { name: 'dqkd_up', labels: {}, value: 1 },
    ]);
  });

  it('unescapes label values', () => {
    const [sample] = parseExposition('x{path="C:\\\\DIR",msg="say \\"hi\\"\\n"} 3').samples;
    expect(sample!.labels).toEqual({ path: 'C:\\DIR', msg: 'say "hi"\n' });
  });

  it('refuses a line that is not a sample', () => {
    expect(() => parseExposition('dqkd_up{kind="a} 1')).toThrow(ExpositionError);
    expect(() => parseExposition('dqkd_up one')).toThrow(ExpositionError);
  });
});
