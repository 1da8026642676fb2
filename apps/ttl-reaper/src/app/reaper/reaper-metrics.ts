import { counterProvider } from '@dqkd/metrics';

export const REAPED = 'dqkd_reaper_deleted_total';

export const reaperMetricProviders = [
  counterProvider({
    name: REAPED,
    help: 'Expired keys, blocks and reservations deleted at this site, their material zeroed first.',
    labels: { kind: ['keys', 'blocks', 'reservations'] },
  }),
];
