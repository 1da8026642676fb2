import { ConfigError } from '@dqkd/config';

import { reaperSettings } from './reaper-settings';

describe('reaper settings', () => {
  it('defaults to a round every ten seconds and an hour of grace at the target (the longest TTL)', () => {
    expect(reaperSettings({})).toEqual({
      intervalMs: 10_000,
      targetGraceMs: 3_600_000,
      batchSize: 1000,
      inboxRetentionMs: 10_800_000,
      auditRetentionDays: 90,
    });
  });

  it('keeps audit events at least the week the ledger refuses to delete within', () => {
    expect(reaperSettings({ DQKD_AUDIT_RETENTION_DAYS: '7' }).auditRetentionDays).toBe(7);
    expect(() => reaperSettings({ DQKD_AUDIT_RETENTION_DAYS: '6' })).toThrow(
      /DQKD_AUDIT_RETENTION_DAYS.*from 7 to 36500/,
    );
  });

  it('refuses to forget processed messages while a stream may still redeliver them', () => {
    expect(() => reaperSettings({ DQKD_INBOX_RETENTION_MS: '60000' })).toThrow(ConfigError);
  });

  it('refuses a value that is not an integer', () => {
    expect(() => reaperSettings({ DQKD_REAPER_INTERVAL_MS: 'soon' })).toThrow(/DQKD_REAPER_INTERVAL_MS/);
  });
});
