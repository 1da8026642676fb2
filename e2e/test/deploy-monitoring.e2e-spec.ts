import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

import { parse } from 'yaml';

import { WORKSPACE } from './support/app-process';
import { DQKD_METRICS, HISTOGRAMS } from './support/dqkd-metrics';

// prettier-ignore
const PROMQL_WORDS = new Set([
  'sum', 'min', 'max', 'avg', 'count', 'by', 'without', 'rate', 'irate', 'increase', 'histogram_quantile',
  'clamp_min', 'clamp_max', 'abs', 'time', 'and', 'or', 'unless', 'on', 'ignoring', 'bool', 'offset',
]);

/** The series names a PromQL expression reads: what is left once labels, ranges, numbers and words go. */
function metricNames(expression: string): string[] {
  const bare = expression
    .replace(/"(?:[^"\\]|\\.)*"/g, '')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b(by|without|on|ignoring)\s*\([^)]*\)/g, '')
    .replace(/\b\d+(\.\d+)?(e[-+]?\d+)?\b/gi, '');
  const names = bare.match(/[a-zA-Z_:][a-zA-Z0-9_:]*/g) ?? [];
  return [...new Set(names.filter((name) => !PROMQL_WORDS.has(name)))];
}

function known(name: string): boolean {
  if (DQKD_METRICS.includes(name) || name === 'up') return true;
  // Node's default metrics, under the same prefix as every DQKD metric.
  if (/^dqkd_(process|nodejs)_[a-z0-9_]+$/.test(name)) return true;
  const histogram = /^(.+)_(bucket|sum|count)$/.exec(name);
  return histogram !== null && HISTOGRAMS.includes(histogram[1]!);
}

const read = (file: string) => readFileSync(path.join(WORKSPACE, file), 'utf8');

const hasYamllint = spawnSync('yamllint', ['--version']).status === 0;
if (!hasYamllint) console.warn('yamllint is not installed: skipping the YAML lint of deploy/');
const withYamllint = hasYamllint ? it : it.skip;

const hasPromtool = spawnSync('promtool', ['--version']).status === 0;
if (!hasPromtool) console.warn('promtool is not installed: skipping promtool check rules/config');
const withPromtool = hasPromtool ? it : it.skip;

interface Rule {
  alert: string;
  expr: string;
  labels?: { severity?: string };
  annotations?: { summary?: string; description?: string };
}
const rules = () =>
  (parse(read('deploy/prometheus/alerts.yml')) as { groups: { rules: Rule[] }[] }).groups.flatMap(
    (group) => group.rules,
  );

describe('metricNames', () => {
  it('finds the series of an expression and nothing else', () => {
    expect(
      metricNames(
        'histogram_quantile(0.99, sum by (site, le) (rate(dqkd_replication_lag_seconds_bucket{site=~"$site"}[5m]))) > 1e-9 * up',
      ),
    ).toEqual(['dqkd_replication_lag_seconds_bucket', 'up']);
  });
});

describe('deploy/prometheus/alerts.yml', () => {
  withPromtool('passes promtool check rules', () => {
    const check = spawnSync(
      'promtool',
      ['check', 'rules', path.join(WORKSPACE, 'deploy/prometheus/alerts.yml')],
      {
        encoding: 'utf8',
      },
    );
    expect({ status: check.status, output: check.stdout + check.stderr }).toEqual({
      status: 0,
      output: expect.stringContaining('SUCCESS') as string,
    });
  });

  withPromtool('passes its promtool unit tests (deploy/prometheus/alerts.test.yml)', () => {
    // Check-value alarms and refused messages alert; each entropy server's certificate alerts on its own.
    const test = spawnSync('promtool', ['test', 'rules', 'deploy/prometheus/alerts.test.yml'], {
      cwd: WORKSPACE,
      encoding: 'utf8',
    });
    expect({ status: test.status, output: test.stdout + test.stderr }).toEqual({
      status: 0,
      output: expect.stringContaining('SUCCESS') as string,
    });
  });

  it('alerts on an empty pool, replication lag, refusing entropy servers, 5xx, expiring certificates and clock skew', () => {
    const metrics = rules().flatMap((rule) => metricNames(rule.expr));
    for (const metric of [
      'dqkd_pool_ready_bytes',
      'dqkd_replication_lag_seconds_bucket',
      'dqkd_entropy_refusals_total',
      'dqkd_etsi_responses_total',
      'dqkd_certificate_not_after_timestamp_seconds',
      'dqkd_peer_clock_skew_seconds',
      // The design's alarms: a regenerated block that does not match, an envelope or message refused.
      'dqkd_kcv_mismatches_total',
      'dqkd_replication_refused_total',
    ]) {
      expect(metrics).toContain(metric);
    }
  });

  it('gives every alert a severity, a summary and a description of what it means and what to do', () => {
    for (const rule of rules()) {
      expect({ alert: rule.alert, severity: rule.labels?.severity }).toEqual({
        alert: rule.alert,
        severity: expect.stringMatching(/^(warning|critical)$/) as string,
      });
      expect(rule.annotations?.summary?.length).toBeGreaterThan(10);
      expect(rule.annotations?.description?.length).toBeGreaterThan(80);
    }
  });

  it('keeps the entropy servers apart in the certificate alerts, by their `server` label', () => {
    const certificates = rules().filter((rule) =>
      metricNames(rule.expr).includes('dqkd_certificate_not_after_timestamp_seconds'),
    );
    expect(certificates.length).toBeGreaterThan(0);
    for (const rule of certificates) {
      expect({ alert: rule.alert, expr: rule.expr }).toEqual({
        alert: rule.alert,
        expr: expect.stringMatching(/\bby \([^)]*\bserver\b[^)]*\)/) as string,
      });
      expect(rule.annotations?.summary).toContain('$labels.server');
    }
  });

  it('names only metrics the apps export', () => {
    const unknown = rules().flatMap((rule) => metricNames(rule.expr).filter((name) => !known(name)));
    expect(unknown).toEqual([]);
  });

  it('is explained, alert by alert, in docs/operations.md', () => {
    const operations = read('docs/operations.md');
    for (const rule of rules()) expect(operations).toContain(rule.alert);
  });
});

describe('deploy/prometheus/prometheus.yml', () => {
  withPromtool('passes promtool check config, rule files included', () => {
    const check = spawnSync(
      'promtool',
      ['check', 'config', path.join(WORKSPACE, 'deploy/prometheus/prometheus.yml')],
      {
        encoding: 'utf8',
      },
    );
    expect({ status: check.status, output: check.stdout + check.stderr }).toEqual({
      status: 0,
      output: expect.stringContaining('SUCCESS: 1 rule files found') as string,
    });
  });
});

describe('deploy/grafana/dqkd.json', () => {
  interface Panel {
    type: string;
    title: string;
    targets?: { expr: string }[];
  }
  const dashboard = () =>
    JSON.parse(read('deploy/grafana/dqkd.json')) as {
      uid: string;
      templating: { list: { name: string; query?: { query: string } }[] };
      panels: Panel[];
    };
  const expressions = () =>
    dashboard().panels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr));

  it('parses, with a site variable taken from the scraped site label', () => {
    const site = dashboard().templating.list.find((variable) => variable.name === 'site');
    expect(site?.query?.query).toMatch(/label_values\(\w+, site\)/);
  });

  it('names only metrics the apps export', () => {
    const unknown = expressions().flatMap((expression) =>
      metricNames(expression).filter((name) => !known(name)),
    );
    expect(expressions().length).toBeGreaterThan(20);
    expect(unknown).toEqual([]);
  });

  it('shows pools, issuance and delivery, replication lag p50 and p99, errors, entropy servers and the reaper', () => {
    const used = new Set(expressions().flatMap(metricNames));
    for (const metric of [
      'dqkd_pool_ready_bytes',
      'dqkd_pool_ready_keys',
      'dqkd_keys_issued_total',
      'dqkd_keys_delivered_total',
      'dqkd_replication_lag_seconds_bucket',
      'dqkd_etsi_responses_total',
      'dqkd_entropy_pool_available_bytes',
      'dqkd_entropy_refusals_total',
      'dqkd_reaper_deleted_total',
      'dqkd_reaper_scrubbed_blocks_total',
    ]) {
      expect(used).toContain(metric);
    }
    const lag = expressions().filter((expression) =>
      expression.includes('dqkd_replication_lag_seconds_bucket'),
    );
    expect(lag.map((expression) => /histogram_quantile\(([\d.]+)/.exec(expression)?.[1])).toEqual([
      '0.5',
      '0.99',
    ]);
  });

  it('filters per-site panels by the site variable', () => {
    const perSite = expressions().filter((expression) =>
      /dqkd_(pool|keys|blocks|replication|etsi|reaper)_/.test(expression),
    );
    expect(perSite.filter((expression) => !expression.includes('site=~"$site"'))).toEqual([]);
  });

  it('is what the Grafana of docker-compose provisions', () => {
    const provider = parse(read('deploy/grafana/provisioning/dashboards/dqkd.yml')) as {
      providers: { options: { path: string } }[];
    };
    const compose = read('docker-compose.yml');
    expect(compose).toContain(
      `./deploy/grafana/dqkd.json:${provider.providers[0]!.options.path}/dqkd.json:ro`,
    );
  });
});

describe('the YAML of deploy/ and docker-compose.yml', () => {
  withYamllint('passes yamllint', () => {
    const check = spawnSync(
      'yamllint',
      ['-c', 'deploy/yamllint.yaml', '-f', 'parsable', 'docker-compose.yml', 'deploy'],
      {
        cwd: WORKSPACE,
        encoding: 'utf8',
      },
    );
    expect({ status: check.status, problems: check.stdout }).toEqual({ status: 0, problems: '' });
  });
});
