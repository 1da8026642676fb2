import { ConfigError } from '@dqkd/config';

import { replicationSettings } from './replication-settings';

describe('replication settings', () => {
  it('waits 30 s for a settlement and crosses no JetStream domain by default, also when both are empty', () => {
    expect(replicationSettings({})).toEqual({ ackWaitMs: 30_000, peerDomains: false });
    expect(replicationSettings({ DQKD_REPLICATION_ACK_WAIT_MS: '', DQKD_NATS_PEER_DOMAINS: ' ' })).toEqual({
      ackWaitMs: 30_000,
      peerDomains: false,
    });
  });

  it('takes both from the environment', () => {
    expect(
      replicationSettings({ DQKD_REPLICATION_ACK_WAIT_MS: '5000', DQKD_NATS_PEER_DOMAINS: 'true' }),
    ).toEqual({
      ackWaitMs: 5000,
      peerDomains: true,
    });
  });

  it('refuses an ack wait under a second and a domain switch that is not a boolean', () => {
    expect(() => replicationSettings({ DQKD_REPLICATION_ACK_WAIT_MS: '10' })).toThrow(ConfigError);
    expect(() => replicationSettings({ DQKD_NATS_PEER_DOMAINS: 'yes' })).toThrow(/DQKD_NATS_PEER_DOMAINS/);
  });
});
