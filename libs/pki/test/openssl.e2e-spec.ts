import { execFile, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import { promisify } from 'node:util';

import { certificateIdentity, ensureDevPki, readMutualTlsServerOptions } from '../src';

const run = promisify(execFile);
const TOOL_TIMEOUT_MS = 15000;

function available(tool: string, versionFlag: string): boolean {
  const found = spawnSync(tool, [versionFlag], { timeout: TOOL_TIMEOUT_MS }).status === 0;
  if (!found) {
    console.warn(`${tool} is not installed: skipping the checks that use it`);
  }
  return found;
}

const hasOpenssl = available('openssl', 'version');
const hasCurl = available('curl', '--version');
const withOpenssl = hasOpenssl ? it : it.skip;
const withCurl = hasCurl ? it : it.skip;

async function openssl(...args: string[]): Promise<string> {
  const { stdout } = await run('openssl', args, { timeout: TOOL_TIMEOUT_MS });
  return stdout;
}

describe('the development PKI seen by openssl and curl', () => {
  let root: string;
  let pki: string;
  const file = (name: string): string => path.join(pki, name);

  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'dqkd-pki-openssl-'));
    pki = path.join(root, 'pki');
    await ensureDevPki({ dir: pki });
  });

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  withOpenssl('verifies every leaf against ca.pem', async () => {
    const leaves = [
      'kme-east',
      'kme-west',
      'entropy-1',
      'entropy-2',
      'entropy-3',
      'sae-alice',
      'sae-bob',
      'sae-carol',
    ];
    const output = await openssl(
      'verify',
      '-CAfile',
      file('ca.pem'),
      ...leaves.map((id) => file(`${id}.pem`)),
    );
    expect(output.trim().split('\n')).toEqual(leaves.map((id) => `${file(`${id}.pem`)}: OK`));
  });

  withOpenssl('verifies each leaf only for its purpose', async () => {
    const verify = (purpose: string, id: string) =>
      openssl('verify', '-purpose', purpose, '-CAfile', file('ca.pem'), file(`${id}.pem`)).then(
        () => 'OK',
        () => 'refused',
      );
    expect(await verify('sslserver', 'kme-east')).toBe('OK');
    expect(await verify('sslclient', 'kme-east')).toBe('OK');
    expect(await verify('sslserver', 'entropy-1')).toBe('OK');
    expect(await verify('sslclient', 'entropy-1')).toBe('refused');
    expect(await verify('sslclient', 'sae-alice')).toBe('OK');
    expect(await verify('sslserver', 'sae-alice')).toBe('refused');
  });

  withOpenssl('shows CA:TRUE as a critical basic constraint of ca.pem', async () => {
    const text = await openssl('x509', '-in', file('ca.pem'), '-noout', '-text');
    expect(text).toMatch(/X509v3 Basic Constraints: critical\s+CA:TRUE/);
    expect(text).toMatch(/X509v3 Key Usage: critical\s+Certificate Sign, CRL Sign/);
  });

  withOpenssl('shows the SANs and EKUs of a KME certificate', async () => {
    const text = await openssl('x509', '-in', file('kme-east.pem'), '-noout', '-text');
    expect(text).toMatch(/Subject: CN ?= ?kme-east/);
    expect(text).toMatch(/DNS:localhost, IP Address:127\.0\.0\.1, DNS:kme-east/);
    expect(text).toMatch(/TLS Web Server Authentication, TLS Web Client Authentication/);
  });

  withOpenssl('opens an SAE .p12 with the empty password and finds key, certificate and CA', async () => {
    const output = await openssl('pkcs12', '-in', file('sae-carol.p12'), '-passin', 'pass:', '-nodes');
    expect(output.match(/-----BEGIN CERTIFICATE-----/g)).toHaveLength(2);
    expect(output).toMatch(/-----BEGIN PRIVATE KEY-----/);
    expect(output).toMatch(/subject=.*CN ?= ?sae-carol/);
    expect(output).toMatch(/subject=.*CN ?= ?DQKD development CA/);
  });

  describe('against a KME server', () => {
    let server: https.Server;
    let port: number;

    beforeAll(async () => {
      server = https.createServer(await readMutualTlsServerOptions(pki, 'kme-west'), (req, res) => {
        res.end(certificateIdentity((req.socket as TLSSocket).getPeerCertificate()));
      });
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      port = (server.address() as AddressInfo).port;
    });

    afterAll(async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    });

    const curl = (...args: string[]) =>
      run('curl', ['--silent', '--show-error', '--max-time', '10', '--cacert', file('ca.pem'), ...args], {
        timeout: TOOL_TIMEOUT_MS,
      });

    withCurl('lets curl call with the SAE .p12 (empty password)', async () => {
      const { stdout } = await curl(
        '--cert-type',
        'P12',
        '--cert',
        `${file('sae-bob.p12')}:`,
        `https://127.0.0.1:${port}/`,
      );
      expect(stdout).toBe('sae-bob');
    });

    withCurl('lets curl call with the SAE PEM key and certificate, naming the server localhost', async () => {
      const { stdout } = await curl(
        '--cert',
        file('sae-carol.pem'),
        '--key',
        file('sae-carol.key'),
        '--resolve',
        `localhost:${port}:127.0.0.1`,
        `https://localhost:${port}/`,
      );
      expect(stdout).toBe('sae-carol');
    });
  });
});
