import type { Logger } from '@nestjs/common';

import type { ReplicationMetrics } from '../replication-metrics';
import type { Settlement } from './regeneration';

/**
 * A message that can never be applied (altered, mis-addressed, from the wrong peer): logged, counted
 * and terminated, since redelivering it would change nothing.
 */
export function refuse(
  metrics: ReplicationMetrics,
  logger: Logger,
  kind: 'metadata' | 'block-ack' | 'assignment',
  reason: string,
): Settlement {
  logger.error(reason);
  metrics.refused.inc({ kind });
  return 'term';
}
