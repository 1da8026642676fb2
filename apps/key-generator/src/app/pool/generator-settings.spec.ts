import { ConfigError } from '@dqkd/config';

import { generatorSettings } from './generator-settings';

describe('generator settings', () => {
  it('defaults to one-hour blocks that the target has ten minutes to confirm', () => {
    expect(generatorSettings({})).toEqual({
      intervalMs: 200,
      concurrency: 4,
      blockLifetimeMs: 3_600_000,
      ackTimeoutMs: 600_000,
    });
  });

  it('takes integers from the environment', () => {
    expect(generatorSettings({ DQKD_BLOCK_ACK_TIMEOUT_MS: '3000' }).ackTimeoutMs).toBe(3000);
  });

  it('refuses an acknowledgement timeout that outlasts the time a pending block counts in the pool', () => {
    expect(() => generatorSettings({ DQKD_BLOCK_LIFETIME_MS: '60000' })).toThrow(
      /DQKD_BLOCK_ACK_TIMEOUT_MS: must be under 43800 \(nine tenths of DQKD_BLOCK_LIFETIME_MS, less 10 s and DQKD_GENERATOR_INTERVAL_MS\)/,
    );
    expect(
      generatorSettings({ DQKD_BLOCK_LIFETIME_MS: '60000', DQKD_BLOCK_ACK_TIMEOUT_MS: '43799' }),
    ).toMatchObject({
      blockLifetimeMs: 60_000,
      ackTimeoutMs: 43_799,
    });
  });

  it('refuses values out of range or not integers, naming every variable', () => {
    const refused = () =>
      generatorSettings({ DQKD_GENERATOR_CONCURRENCY: '0', DQKD_BLOCK_LIFETIME_MS: '1.5h' });
    expect(refused).toThrow(/DQKD_GENERATOR_CONCURRENCY/);
    expect(refused).toThrow(/DQKD_BLOCK_LIFETIME_MS/);
    expect(() => generatorSettings({ DQKD_BLOCK_LIFETIME_MS: '7200000' })).toThrow(ConfigError);
    // Too short for a gateway's lease, which needs blocks that live 10 s more.
    expect(() => generatorSettings({ DQKD_BLOCK_LIFETIME_MS: '5000' })).toThrow(/from 60000 to 3600000/);
  });
});
