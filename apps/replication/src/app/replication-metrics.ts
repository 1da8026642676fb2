import { counterProvider, type Counter } from '@dqkd/metrics';

export const REFUSED = 'dqkd_replication_refused_total';
export const BLOCKS = 'dqkd_replication_blocks_total';
export const KCV_MISMATCHES = 'dqkd_kcv_mismatches_total';
export const ASSIGNMENTS = 'dqkd_replication_assignments_applied_total';

export const replicationMetricProviders = [
  counterProvider({
    name: REFUSED,
    help: 'Messages refused: altered, mis-addressed, expired or malformed envelopes, or unknown subjects.',
    labels: { kind: ['metadata', 'block-ack', 'assignment', 'unknown'] },
  }),
  counterProvider({
    name: BLOCKS,
    help: 'Blocks regenerated here as the target of their link, by outcome.',
    labels: { outcome: ['ready', 'rejected'] },
  }),
  counterProvider({ name: KCV_MISMATCHES, help: 'Regenerated blocks whose check value differed: an alarm.' }),
  counterProvider({ name: ASSIGNMENTS, help: 'Key assignments applied (each once).' }),
];

export interface ReplicationMetrics {
  readonly refused: Counter;
  readonly blocks: Counter;
  readonly kcvMismatches: Counter;
  readonly assignments: Counter;
}
