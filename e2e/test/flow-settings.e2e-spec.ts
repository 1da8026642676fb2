import { AppProcess } from './support/app-process';
import { TestSite } from './support/test-site';

const EX_CONFIG = 78;

describe('the settings of the flow apps', () => {
  let site: TestSite;

  beforeAll(async () => {
    site = await TestSite.create();
  });

  afterAll(() => site?.remove());

  it.each([
    ['key-generator', 'DQKD_GENERATOR_CONCURRENCY', 'must be an integer from 1 to 64'],
    ['key-generator', 'DQKD_BLOCK_ACK_TIMEOUT_MS', 'must be an integer from 1000 to 3600000'],
    ['replication', 'DQKD_REPLICATION_ACK_WAIT_MS', 'must be an integer from 1000 to 600000'],
    ['ttl-reaper', 'DQKD_TARGET_GRACE_MS', 'must be an integer from 0 to 3600000'],
  ])('%s refuses %s out of range with exit code 78, naming it', async (app, variable, problem) => {
    const child = AppProcess.start(app, { ...site.env('kme-east'), [variable]: '-1' }, site.dir);
    expect(await child.exit()).toBe(EX_CONFIG);
    expect(child.text.trim()).toBe(`environment: ${variable}: ${problem}`);
  });

  it('ttl-reaper warns at start-up of a DQKD_TARGET_GRACE_MS shorter than the longest TTL', async () => {
    const child = AppProcess.start(
      'ttl-reaper',
      { ...site.env('kme-east'), DQKD_TARGET_GRACE_MS: '5000' },
      site.dir,
    );
    try {
      await child.waitFor('ttl-reaper of kme-east is running');
      expect(child.text).toMatch(
        /"level":"warn".*DQKD_TARGET_GRACE_MS is 5000 ms, less than the longest TTL/,
      );
    } finally {
      child.signal('SIGTERM');
      expect(await child.exit()).toBe(0);
    }
  });

  it('ttl-reaper does not warn with the default grace', async () => {
    const child = AppProcess.start('ttl-reaper', site.env('kme-east'), site.dir);
    try {
      await child.waitFor('ttl-reaper of kme-east is running');
      expect(child.text).not.toContain('DQKD_TARGET_GRACE_MS');
    } finally {
      child.signal('SIGTERM');
      expect(await child.exit()).toBe(0);
    }
  });
});
