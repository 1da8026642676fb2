import { counterProvider } from '@dqkd/metrics';

export const REAPED = 'dqkd_reaped_total';

export const reaperMetricProviders = [
  counterProvider({
    name: REAPED,
    help: 'Expired keys, blocks and reservations deleted at this site, their material zeroed first.',
    labels: { what: ['keys', 'blocks', 'reservations'] },
  }),
];
