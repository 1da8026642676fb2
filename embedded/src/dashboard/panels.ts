import type { History, Series } from './history';

const SITE = ['site'];
const SITE_LINK = ['site', 'link'];
const SITE_ROUTE = ['site', 'route'];

/**
 * What each panel of deploy/grafana/dqkd.json shows, computed from the scrapes as its PromQL would compute it
 * from Prometheus (the expression is beside each). A panel the dashboard gains without an entry here stops
 * the snapshot, so the picture never silently drifts from the dashboard.
 */
export const PANELS: Readonly<Record<string, (h: History) => Series[]>> = {
  // max by (site, link) (dqkd_pool_ready_bytes), and the low watermark
  'Ready key material per link': (h) => [
    ...h.gauge('key-generator', 'dqkd_pool_ready_bytes', SITE_LINK),
    ...named(h.gauge('key-generator', 'dqkd_pool_low_watermark_bytes', SITE_LINK), 'low watermark'),
  ],
  'Ready keys per link': (h) => h.gauge('key-generator', 'dqkd_pool_ready_keys', SITE_LINK),
  // sum by (site, link) (rate(dqkd_keys_issued_total[…]))
  'Keys issued (enc_keys)': (h) => h.rate('api-gateway', 'dqkd_keys_issued_total', SITE_LINK),
  'Keys delivered (dec_keys)': (h) => h.rate('api-gateway', 'dqkd_keys_delivered_total', SITE_LINK),
  'Blocks generated, regenerated, burned': (h) => [
    ...named(h.rate('key-generator', 'dqkd_blocks_generated_total', SITE), 'generated'),
    ...named(h.rate('replication', 'dqkd_blocks_regenerated_total', SITE), 'regenerated'),
    // Both count burns: the source's key-generator, and replication at either end (kcv mismatches, refusals).
    ...named(
      h.rate(['key-generator', 'replication'], 'dqkd_blocks_burned_total', ['site', 'reason']),
      'burned',
    ),
  ],
  // histogram_quantile(0.5 | 0.99, sum by (site, le) (rate(dqkd_replication_lag_seconds_bucket[…])))
  'Replication lag': (h) => [
    ...h.quantile(0.5, 'replication', 'dqkd_replication_lag_seconds', SITE),
    ...h.quantile(0.99, 'replication', 'dqkd_replication_lag_seconds', SITE),
  ],
  'BLAST generation duration': (h) => [
    ...h.quantile(0.5, 'key-generator', 'dqkd_blast_generation_duration_seconds', SITE),
    ...h.quantile(0.99, 'key-generator', 'dqkd_blast_generation_duration_seconds', SITE),
  ],
  'ETSI request duration p99': (h) =>
    h.quantile(0.99, 'api-gateway', 'dqkd_etsi_request_duration_seconds', ['site', 'route']),
  'ETSI responses by status': (h) => h.rate('api-gateway', 'dqkd_etsi_responses_total', ['site', 'status']),
  // 5xx rate / all rate, by (site, route)
  'ETSI 5xx ratio': (h) => {
    const all = h.rate('api-gateway', 'dqkd_etsi_responses_total', SITE_ROUTE);
    const errors = ['500', '503'].flatMap((status) =>
      h.rate('api-gateway', 'dqkd_etsi_responses_total', SITE_ROUTE, { status }),
    );
    return all.map((series) => ({
      name: series.name,
      points: series.points.map(([at, total]) => {
        const failed = errors
          .filter((error) => error.name === series.name)
          .reduce((sum, error) => sum + (error.points.find(([t]) => t === at)?.[1] ?? 0), 0);
        return [at, total > 0 ? failed / total : 0] as const;
      }),
    }));
  },
  'Messages redelivered': (h) => h.rate('replication', 'dqkd_messages_redelivered_total', ['site', 'kind']),
  // up{job="entropy-server"}: every scrape here answered
  'Entropy servers up': (h) =>
    h.gauge('entropy-server', 'dqkd_entropy_pool_available_bytes', ['server']).map((series) => ({
      name: series.name,
      points: series.points.map(([at]) => [at, 1] as const),
    })),
  'Pool bytes available': (h) => h.gauge('entropy-server', 'dqkd_entropy_pool_available_bytes', ['server']),
  'Leases and reads': (h) => [
    ...named(h.rate('entropy-server', 'dqkd_entropy_leases_total', ['server']), 'leases'),
    ...named(h.rate('entropy-server', 'dqkd_entropy_reads_total', ['server']), 'reads'),
  ],
  'Refusals and shredding': (h) => [
    ...named(h.rate('entropy-server', 'dqkd_entropy_refusals_total', ['server']), 'refused'),
    ...named(h.rate('entropy-server', 'dqkd_entropy_shredded_bytes_total', ['server']), 'shredded B/s'),
  ],
  'Reaper deletions': (h) => [
    ...h.rate('ttl-reaper', 'dqkd_reaper_deleted_total', ['site', 'kind']),
    ...named(
      h.rate('ttl-reaper', 'dqkd_reaper_scrubbed_blocks_total', ['site', 'outcome']),
      'blocks scrubbed',
    ),
  ],
  // min by (site, server, certificate) (dqkd_certificate_not_after_timestamp_seconds) - time(); an entropy
  // server's site is its own ID here
  'Certificate time left': (h) =>
    h
      .gauge(['api-gateway', 'entropy-server'], 'dqkd_certificate_not_after_timestamp_seconds', [
        'site',
        'certificate',
      ])
      .map((series) => ({
        name: series.name,
        points: series.points.map(([at, notAfter]) => [at, notAfter - at / 1000] as const),
      })),
  'Clock skew to peers': (h) => h.gauge('replication', 'dqkd_peer_clock_skew_seconds', ['site', 'peer']),
  // One process hosts every app here: the same memory shows under each site's apps.
  'Resident memory': (h) => h.gauge('api-gateway', 'dqkd_process_resident_memory_bytes', SITE),
};

function named(series: Series[], suffix: string): Series[] {
  return series.map((each) => ({ name: `${each.name} ${suffix}`, points: each.points }));
}
