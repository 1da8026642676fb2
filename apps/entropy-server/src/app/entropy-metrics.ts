import { REFUSAL_REASONS } from '@dqkd/entropy';
import { certificateExpiryProviders, counterProvider, gaugeProvider } from '@dqkd/metrics';

export const POOL_AVAILABLE_BYTES = 'dqkd_entropy_pool_available_bytes';
export const LEASES = 'dqkd_entropy_leases_total';
export const READS = 'dqkd_entropy_reads_total';
export const REFUSALS = 'dqkd_entropy_refusals_total';
export const SHREDDED_BYTES = 'dqkd_entropy_shredded_bytes_total';
export const SOURCE_FAILURES = 'dqkd_entropy_source_failures_total';

export const entropyMetricProviders = [
  gaugeProvider({ name: POOL_AVAILABLE_BYTES, help: 'Unleased random bytes in live pools.' }),
  counterProvider({ name: LEASES, help: 'Samples leased (first reads).' }),
  counterProvider({ name: READS, help: 'Samples read a second time, by the other end of the link.' }),
  counterProvider({
    name: REFUSALS,
    help: 'Leases and reads refused, by reason; already-read from a target burns its block.',
    labels: { reason: REFUSAL_REASONS },
  }),
  counterProvider({
    name: SHREDDED_BYTES,
    help: 'Random bytes overwritten with zeros after their second read or at their deadline.',
  }),
  counterProvider({ name: SOURCE_FAILURES, help: 'Pool fills that failed because the random source did.' }),
  ...certificateExpiryProviders(
    ['entropy-server', 'kme-ca'],
    'End of validity (Unix seconds) of the certificate this entropy server presents and of the CA of KME certificates it trusts.',
  ),
];
