import { counterProvider, type Counter } from '@dqkd/metrics';

export const GENERATED = 'dqkd_blocks_generated_total';
export const UNCONFIRMED = 'dqkd_blocks_unconfirmed_total';

export const generatorMetricProviders = [
  counterProvider({
    name: GENERATED,
    help: 'Blocks made with BLAST and sent to their target for confirmation.',
  }),
  counterProvider({
    name: UNCONFIRMED,
    help: 'Blocks burned because their target did not confirm them in time.',
  }),
];

export interface GeneratorMetrics {
  readonly generated: Counter;
  readonly unconfirmed: Counter;
}
