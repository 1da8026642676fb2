import { counterProvider } from '@dqkd/metrics';

export const REAPED = 'dqkd_reaper_deleted_total';
export const SCRUBBED = 'dqkd_reaper_scrubbed_blocks_total';

export const reaperMetricProviders = [
  counterProvider({
    name: REAPED,
    help: 'Expired keys, blocks and reservations deleted at this site, their material zeroed first.',
    labels: { kind: ['keys', 'blocks', 'reservations'] },
  }),
  counterProvider({
    name: SCRUBBED,
    help: "Blocks held here as the target in which the reaper zeroed recorded keys' bits, or could not (their material did not open).",
    labels: { outcome: ['zeroed', 'failed'] },
  }),
];
