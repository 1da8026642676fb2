import { ConfigError, ENVIRONMENT, type Environment } from '@dqkd/config';

export interface ReplicationSettings {
  /** How long a delivered message may stay unsettled before it comes again (a crashed replica's messages). */
  readonly ackWaitMs: number;
  /** Reach a peer's OUT stream through its JetStream domain (sites on NATS servers joined by leaf nodes). */
  readonly peerDomains: boolean;
}

/** Replication's tuning from the environment; a bad value stops the process. */
export function replicationSettings(env: Environment): ReplicationSettings {
  const issues: { source: string; path: string; message: string }[] = [];
  const ackWait = env['DQKD_REPLICATION_ACK_WAIT_MS']?.trim();
  const ackWaitMs = ackWait ? Number(ackWait) : 30_000;
  if (!Number.isSafeInteger(ackWaitMs) || ackWaitMs < 1000 || ackWaitMs > 600_000) {
    issues.push({
      source: ENVIRONMENT,
      path: 'DQKD_REPLICATION_ACK_WAIT_MS',
      message: 'must be an integer from 1000 to 600000',
    });
  }
  // Empty is unset, as for every other variable.
  const domains = env['DQKD_NATS_PEER_DOMAINS']?.trim() || 'false';
  if (domains !== 'true' && domains !== 'false') {
    issues.push({ source: ENVIRONMENT, path: 'DQKD_NATS_PEER_DOMAINS', message: 'must be true or false' });
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return { ackWaitMs, peerDomains: domains === 'true' };
}
