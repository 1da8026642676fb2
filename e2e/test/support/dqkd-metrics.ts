/**
 * The DQKD metrics each app exports, as the alert rules and the Grafana dashboard use them: the monitoring
 * test checks those name nothing else, the metrics test that a running network exports every one.
 */
const BY_APP: Readonly<Record<string, readonly string[]>> = {
  'api-gateway': [
    'dqkd_keys_issued_total',
    'dqkd_keys_delivered_total',
    'dqkd_etsi_responses_total',
    'dqkd_etsi_request_duration_seconds',
    'dqkd_certificate_not_after_timestamp_seconds',
  ],
  'key-generator': [
    'dqkd_pool_ready_bytes',
    'dqkd_pool_ready_keys',
    'dqkd_pool_low_watermark_bytes',
    'dqkd_blocks_generated_total',
    'dqkd_blocks_burned_total',
    'dqkd_blast_generation_duration_seconds',
  ],
  replication: [
    'dqkd_blocks_regenerated_total',
    'dqkd_blocks_burned_total',
    'dqkd_replication_lag_seconds',
    'dqkd_messages_redelivered_total',
    'dqkd_peer_clock_skew_seconds',
    'dqkd_held_reservation_bytes',
    // The design's alarms: a regenerated block whose check value differs, a message refused.
    'dqkd_kcv_mismatches_total',
    'dqkd_replication_refused_total',
  ],
  'ttl-reaper': ['dqkd_reaper_deleted_total', 'dqkd_reaper_scrubbed_blocks_total'],
  'entropy-server': [
    'dqkd_entropy_pool_available_bytes',
    'dqkd_entropy_leases_total',
    'dqkd_entropy_reads_total',
    'dqkd_entropy_refusals_total',
    'dqkd_entropy_shredded_bytes_total',
    'dqkd_certificate_not_after_timestamp_seconds',
  ],
};

/** Every app also says whether its ledger, bus or pools answer (HealthModule). */
export const METRICS_BY_APP: Readonly<Record<string, readonly string[]>> = Object.fromEntries(
  Object.entries(BY_APP).map(([app, names]) => [app, [...names, 'dqkd_dependency_up']]),
);

export const DQKD_METRICS = [...new Set(Object.values(METRICS_BY_APP).flat())];

export const HISTOGRAMS = [
  'dqkd_blast_generation_duration_seconds',
  'dqkd_replication_lag_seconds',
  'dqkd_etsi_request_duration_seconds',
];
