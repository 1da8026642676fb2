import { writeFileSync } from 'node:fs';
import * as path from 'node:path';

import { EntropyNetwork } from '../../libs/entropy/test/entropy-network';
import { AppProcess } from './support/app-process';

const EX_CONFIG = 78;

describe('the entropy-server process', () => {
  let network: EntropyNetwork;

  beforeAll(async () => {
    network = await EntropyNetwork.create();
  });

  afterAll(() => network?.remove());

  it('starts as the entropy server ENTROPY_SERVER_ID names, is ready with a filled pool, and stops cleanly on SIGTERM', async () => {
    const process = AppProcess.start('entropy-server', network.serverEnv('entropy-1'), network.dir);
    await process.waitFor('entropy-server of entropy-1 is running; health on http://127.0.0.1:');
    const health = /health on (http:\/\/\S+)\/health\/ready/.exec(process.text)![1]!;
    const ready = await fetch(`${health}/health/ready`);
    expect({ status: ready.status, body: await ready.json() }).toMatchObject({
      status: 200,
      body: { status: 'ok', info: { pools: { status: 'up' } } },
    });
    const metrics = await (await fetch(`${health}/metrics`)).text();
    expect(metrics).toMatch(/^dqkd_entropy_pool_available_bytes\{server="entropy-1"\} 1048576$/m);
    process.signal('SIGTERM');
    expect(await process.exit()).toBe(0);
  });

  it('refuses an ENTROPY_SERVER_ID that is not in the network file, naming it, with exit code 78', async () => {
    const process = AppProcess.start('entropy-server', network.serverEnv('entropy-9'), network.dir);
    expect(await process.exit()).toBe(EX_CONFIG);
    expect(process.text.trim()).toBe(
      'environment: ENTROPY_SERVER_ID: unknown entropy server "entropy-9" (the network file defines entropy-1, entropy-2, entropy-3)',
    );
  });

  it('refuses a KME_ID in place of ENTROPY_SERVER_ID', async () => {
    const { ENTROPY_SERVER_ID: _unset, ...env } = network.serverEnv('entropy-1');
    const process = AppProcess.start('entropy-server', { ...env, KME_ID: 'kme-east' }, network.dir);
    expect(await process.exit()).toBe(EX_CONFIG);
    expect(process.text.trim()).toBe('environment: ENTROPY_SERVER_ID: required but not set');
  });

  it('refuses a sealing identity that belongs to another server', async () => {
    const foreign = path.join(network.pkiDir, 'entropy-2.sealing.json');
    const process = AppProcess.start(
      'entropy-server',
      network.serverEnv('entropy-1', { ENTROPY_SEALING_FILE: foreign }),
      network.dir,
    );
    expect(await process.exit()).toBe(EX_CONFIG);
    expect(process.text.trim()).toBe(
      'environment: ENTROPY_SEALING_FILE: belongs to "entropy-2", not "entropy-1"',
    );
  });

  it("refuses a key that is not its certificate's, naming DQKD_TLS_KEY_FILE, with exit code 78", async () => {
    const [cert, key] = ['entropy-1.pem', 'entropy-2.key'].map((file) => path.join(network.pkiDir, file));
    const env = network.serverEnv('entropy-1', { DQKD_TLS_CERT_FILE: cert!, DQKD_TLS_KEY_FILE: key! });
    const process = AppProcess.start('entropy-server', env, network.dir);
    expect(await process.exit()).toBe(EX_CONFIG);
    expect(process.text.trim()).toBe(
      `environment: DQKD_TLS_KEY_FILE: ${key} is not the private key of the certificate in ${cert}`,
    );
  });

  it('refuses a malformed network file, naming the file and the line', async () => {
    const broken = path.join(network.dir, 'config/broken.yaml');
    writeFileSync(broken, 'version: 1\nkmes: [\n');
    const env = { ...network.serverEnv('entropy-1'), DQKD_NETWORK_FILE: broken };
    const process = AppProcess.start('entropy-server', env, network.dir);
    expect(await process.exit()).toBe(EX_CONFIG);
    expect(process.text).toMatch(/^.*broken\.yaml: .*line \d+/);
  });
});
