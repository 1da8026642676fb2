import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

import { writeSealingPubFiles } from './network-fixture';

const projectDir = path.resolve(__dirname, '..');
const repoDir = path.resolve(projectDir, '../..');
const example = path.join(repoDir, 'config', 'network.example.yaml');

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

describe('check-config, run as a child process', () => {
  let outDir: string;
  let site: string;

  // The compiled output lives outside the repository, so the child finds packages through NODE_PATH;
  // nothing else is inherited (npm's INIT_CWD in particular would change the working directory).
  const run = (args: string[], env: Record<string, string> = {}, cwd = site): Run => {
    const result = spawnSync(process.execPath, args, {
      cwd,
      env: { PATH: process.env.PATH ?? '', NODE_PATH: path.join(repoDir, 'node_modules'), ...env },
      encoding: 'utf8',
      timeout: 20000,
    });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  };
  const checkConfig = (args: string[], env?: Record<string, string>, cwd?: string) =>
    run([path.join(outDir, 'cli', 'check-config.js'), ...args], env, cwd);
  const networkFile = () => path.join(site, 'config', 'network.yaml');

  beforeAll(() => {
    outDir = mkdtempSync(path.join(tmpdir(), 'dqkd-config-build-'));
    const tsc = spawnSync(
      process.execPath,
      [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', outDir],
      { cwd: projectDir, encoding: 'utf8', timeout: 50000 },
    );
    expect(tsc.stdout + tsc.stderr).toBe('');
    expect(tsc.status).toBe(0);
  }, 60000);
  afterAll(() => rmSync(outDir, { recursive: true, force: true }));

  // A site laid out like the repository: the example network file and a throwaway development PKI.
  beforeEach(() => {
    site = mkdtempSync(path.join(tmpdir(), 'dqkd-config-site-'));
    mkdirSync(path.join(site, 'config'));
    copyFileSync(example, networkFile());
    writeSealingPubFiles(path.join(site, '.dqkd', 'pki'), [
      'kme-east',
      'kme-west',
      'entropy-1',
      'entropy-2',
      'entropy-3',
    ]);
  });
  afterEach(() => rmSync(site, { recursive: true, force: true }));

  describe('given a network file', () => {
    it('exits 0 and says so when the file is valid', () => {
      const result = checkConfig(['config/network.yaml']);
      expect(result).toEqual({
        status: 0,
        stdout: 'config/network.yaml: valid (2 KMEs, 3 SAEs, 3 entropy servers)\n',
        stderr: '',
      });
    });

    it('exits 78 with one line naming the file and field of an SAE attached to an unknown KME', () => {
      const text = readFileSync(networkFile(), 'utf8').replace(
        /(id: sae-bob\n.*\n\s+kme:) kme-west/,
        '$1 kme-north',
      );
      writeFileSync(networkFile(), text);
      const result = checkConfig(['config/network.yaml']);
      expect(result.status).toBe(78);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(
        /^config\/network\.yaml: saes\[1\]\.kme: unknown KME "kme-north" \(line \d+\)\n$/,
      );
    });

    it('exits 78 naming the line and column of malformed YAML', () => {
      writeFileSync(networkFile(), 'version: 1\nkmes:\n\t- id: kme-east\n');
      const result = checkConfig(['config/network.yaml']);
      expect(result.status).toBe(78);
      expect(result.stderr).toBe(
        'config/network.yaml: malformed YAML: Tabs are not allowed as indentation (line 3, column 1)\n',
      );
    });

    it('exits 78 when a KME public key file is missing', () => {
      rmSync(path.join(site, '.dqkd', 'pki', 'kme-west.sealing.pub.json'));
      const result = checkConfig(['config/network.yaml']);
      expect(result.status).toBe(78);
      expect(result.stderr).toMatch(
        /^config\/network\.yaml: kmes\[1\]\.public_keys: cannot read \.\.\/\.dqkd\/pki\/kme-west\.sealing\.pub\.json: ENOENT: no such file or directory \(line \d+\)\n$/,
      );
    });

    it('resolves the file against INIT_CWD, where the operator ran npm', () => {
      const result = checkConfig(['config/network.yaml'], { INIT_CWD: site }, tmpdir());
      expect(result.status).toBe(0);
    });
  });

  describe('given the environment', () => {
    const env = { KME_ID: 'kme-east', DQKD_NETWORK_FILE: 'config/network.yaml' };

    it('exits 0 for a valid site', () => {
      const result = checkConfig([], {
        ...env,
        DATABASE_URL: 'postgres://127.0.0.1/dqkd',
        DQKD_KEK: '1:AAAA',
      });
      expect(result.status).toBe(0);
      expect(result.stdout).toBe(
        `${networkFile()}: valid (2 KMEs, 3 SAEs, 3 entropy servers); environment valid for kme-east\n`,
      );
    });

    it('checks an entropy server by ENTROPY_SERVER_ID, where a KME is checked by KME_ID', () => {
      const server = { DQKD_NETWORK_FILE: 'config/network.yaml', ENTROPY_SERVER_ID: 'entropy-2' };
      const valid = checkConfig([], server);
      expect(valid.stderr).toBe('');
      expect(valid.stdout).toBe(
        `${networkFile()}: valid (2 KMEs, 3 SAEs, 3 entropy servers); environment valid for entropy-2\n`,
      );
      expect(checkConfig([], { ...server, ENTROPY_SERVER_ID: 'entropy-9' })).toEqual({
        status: 78,
        stdout: '',
        stderr: expect.stringContaining('ENTROPY_SERVER_ID: unknown entropy server "entropy-9"'),
      });
    });

    it('exits 78 naming KME_ID when it is not a KME of the network', () => {
      const result = checkConfig([], { ...env, KME_ID: 'kme-north' });
      expect(result).toEqual({
        status: 78,
        stdout: '',
        stderr:
          'environment: KME_ID: unknown KME "kme-north" (the network file defines kme-east, kme-west)\n',
      });
    });

    it('exits 78 naming DQKD_KEK when DATABASE_URL is set without a keyring', () => {
      const result = checkConfig([], { ...env, DATABASE_URL: 'postgres://127.0.0.1/dqkd' });
      expect(result.status).toBe(78);
      expect(result.stderr).toBe(
        'environment: DQKD_KEK: DATABASE_URL is set, so DQKD_KEK or DQKD_KEK_FILE must hold the key-encryption keyring\n',
      );
    });

    it('exits 78 listing every issue, one per line', () => {
      const result = checkConfig([], { DQKD_NETWORK_FILE: 'config/network.yaml', LOG_LEVEL: 'loud' });
      expect(result.status).toBe(78);
      expect(result.stderr.trimEnd().split('\n')).toEqual([
        'environment: KME_ID: required but not set',
        expect.stringMatching(/^environment: LOG_LEVEL: must be one of /),
      ]);
    });
  });

  it('exits 64 with usage on an unknown option', () => {
    const result = checkConfig(['--verbose']);
    expect(result.status).toBe(64);
    expect(result.stderr).toMatch(/^usage: check-config \[network-file\]/);
  });

  it('prints usage to stdout and exits 0 on --help', () => {
    const result = checkConfig(['--help']);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^usage: check-config \[network-file\]/);
  });

  describe('exitOnConfigError', () => {
    const script = (body: string) =>
      `const { exitOnConfigError } = require(${JSON.stringify(path.join(outDir, 'exit-on-config-error.js'))});
       const { ConfigError } = require(${JSON.stringify(path.join(outDir, 'config-error.js'))});
       ${body}`;

    it('exits 78 when an async start-up rejects with a ConfigError', () => {
      const result = run([
        '-e',
        script(`exitOnConfigError(async () => {
          throw new ConfigError([{ source: 'environment', path: 'NATS_URL', message: 'must be a nats:// or tls:// URL' }]);
        });`),
      ]);
      expect(result).toEqual({
        status: 78,
        stdout: '',
        stderr: 'environment: NATS_URL: must be a nats:// or tls:// URL\n',
      });
    });

    it('lets any other error crash the process as usual', () => {
      const result = run(['-e', script(`exitOnConfigError(() => { throw new Error('disk on fire'); });`)]);
      expect(result.status).toBe(1);
      expect(result.stderr).toContain('disk on fire');
    });

    it('returns what a successful start-up returns', () => {
      const result = run([
        '-e',
        script(`exitOnConfigError(async () => 'up').then((value) => console.log(value));`),
      ]);
      expect(result).toEqual({ status: 0, stdout: 'up\n', stderr: '' });
    });
  });
});
