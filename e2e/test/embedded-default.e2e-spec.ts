import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

import { EtsiClient } from '@dqkd/client';

import { WORKSPACE } from './support/app-process';

/** A port nobody listens on now, so the test never meets a developer's own `npm start`. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** `npm start`'s process (the built launcher), with its output collected. */
class EmbeddedNetwork {
  output = '';
  private readonly exited: Promise<number | null>;

  constructor(
    home: string,
    healthPortBase: number,
    private readonly child: ChildProcess = spawn(
      process.execPath,
      [path.join(WORKSPACE, 'embedded/dist/main.js')],
      {
        cwd: home,
        env: { PATH: process.env['PATH'] ?? '', DQKD_HOME: home, DQKD_HEALTH_PORT: String(healthPortBase) },
      },
    ),
  ) {
    child.stdout!.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    this.exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  }

  async running(timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.output.includes('DQKD is running')) {
      if (this.child.exitCode !== null) throw new Error(`the network stopped:\n${this.output}`);
      if (Date.now() > deadline) throw new Error(`not running after ${timeoutMs} ms:\n${this.output}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  async stop(signal: NodeJS.Signals): Promise<number | null> {
    this.child.kill(signal);
    return this.exited;
  }
}

describe('the embedded default (npm start)', () => {
  let home: string;
  let ports: { east: number; west: number; health: number };

  beforeAll(async () => {
    home = mkdtempSync(path.join(tmpdir(), 'dqkd-embedded-'));
    ports = {
      east: await freePort(),
      west: await freePort(),
      health: 20000 + Math.floor(Math.random() * 20000),
    };
    // The network file the launcher would write, moved to free ports.
    mkdirSync(home, { recursive: true });
    const entropyBase = await freePort();
    writeFileSync(
      path.join(home, 'network.yaml'),
      readFileSync(path.join(WORKSPACE, 'config/network.example.yaml'), 'utf8')
        .replaceAll('../.dqkd/pki/', 'pki/')
        .replace('https://127.0.0.1:8443', `https://127.0.0.1:${ports.east}`)
        .replace('https://127.0.0.1:9443', `https://127.0.0.1:${ports.west}`)
        .replace(
          /https:\/\/127\.0\.0\.1:710(\d)/g,
          (_, n: string) => `https://127.0.0.1:${entropyBase + 1 + Number(n)}`,
        ),
    );
  });

  afterAll(() => rmSync(home, { recursive: true, force: true }));

  const client = (sae: string, port: number) =>
    new EtsiClient({
      baseUrl: `https://127.0.0.1:${port}`,
      cert: readFileSync(path.join(home, 'pki', `${sae}.pem`)),
      key: readFileSync(path.join(home, 'pki', `${sae}.key`)),
      ca: readFileSync(path.join(home, 'pki', 'ca.pem')),
    });

  /** Alice gets a key for Bob at kme-east; Bob fetches the same key from kme-west. */
  async function roundTrip(): Promise<void> {
    const alice = client('sae-alice', ports.east);
    const bob = client('sae-bob', ports.west);
    try {
      const sent = await alice.encKeys('sae-bob', { number: 2 });
      const fetched = await bob.decKeys(
        'sae-alice',
        sent.keys.map((key) => key.key_ID),
      );
      expect(fetched.keys.map((key) => key.key)).toEqual(sent.keys.map((key) => key.key));
      expect(Buffer.from(sent.keys[0]!.key, 'base64')).toHaveLength(32);
    } finally {
      alice.close();
      bob.close();
    }
  }

  it('starts the two-site network, serves keys that both sites agree on, and stops on Ctrl-C', async () => {
    const network = new EmbeddedNetwork(home, ports.health);
    await network.running();
    expect(network.output).toContain(`kme-east  ETSI GS QKD 014 API https://127.0.0.1:${ports.east}`);
    expect(network.output).toMatch(/curl --cacert .*sae-alice\.pem/);
    // Every app of both sites, and each entropy server, prints a metrics URL that answers.
    const metricsUrls = [...network.output.matchAll(/^ {2}metrics .*: (http:\/\/\S+\/metrics)$/gm)].map(
      (m) => m[1]!,
    );
    expect(metricsUrls).toHaveLength(11);
    for (const url of metricsUrls) {
      const answer = await fetch(url);
      expect({ url, status: answer.status }).toEqual({ url, status: 200 });
      expect(await answer.text()).toContain('# TYPE');
    }
    await roundTrip();
    expect(await network.stop('SIGINT')).toBe(0);
  });

  it('recovers by itself after a killed run', async () => {
    const killed = new EmbeddedNetwork(home, ports.health);
    await killed.running();
    await killed.stop('SIGKILL');
    const network = new EmbeddedNetwork(home, ports.health);
    await network.running();
    await roundTrip();
    expect(await network.stop('SIGTERM')).toBe(0);
  });
});
