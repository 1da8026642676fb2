import { counterProvider } from './metrics.module';

/** A link as a label value, e.g. `kme-east->kme-west`: the network file's links are a closed list. */
export const linkLabel = (source: string, target: string): string => `${source}->${target}`;

/**
 * The `link` label's values for these links. A KME without such links still declares the label, with one
 * value that no link has, since a label needs at least one; its series stay at 0.
 */
export const linkLabelValues = (links: readonly { source: string; target: string }[]): string[] =>
  links.length > 0 ? links.map((link) => linkLabel(link.source, link.target)) : ['none'];

/**
 * Defined by the key-generator (blocks its target never confirmed) and replication (blocks its target
 * rejected), both at the block's source, so one name and one list of reasons serve the dashboard.
 */
export const BLOCKS_BURNED = 'dqkd_blocks_burned_total';
export const BLOCK_BURN_REASONS = [
  'unconfirmed',
  'kcv-mismatch',
  'samples-refused',
  'metadata-refused',
] as const;
export type BlockBurnReason = (typeof BLOCK_BURN_REASONS)[number];

export const blocksBurnedProvider = () =>
  counterProvider({
    name: BLOCKS_BURNED,
    help: 'Source blocks burned before use, by reason: unconfirmed in time, or rejected by the target.',
    labels: { reason: BLOCK_BURN_REASONS },
  });
