/**
 * The embedded default (`embedded/dist/main.js`) as a child process in a private DQKD_HOME, on free
 * 127.0.0.1 ports, with the per-SAE rate limit raised so the benchmark measures the network, not the limiter.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import * as path from 'node:path';

import { sleep } from './load-generator';

/** Far above what 16 clients can ask for, so no request of the benchmark is throttled. */
export const RAISED_SAE_RATE = 1_000_000;

/** One health/metrics port per app from the base on: three entropy servers and four apps per site. */
const HEALTH_PORTS = 11;
const OUTPUT_KEPT_CHARS = 64 * 1024;
const WARNINGS_KEPT = 3;

export interface NetworkPorts {
  readonly east: number;
  readonly west: number;
}

export class EmbeddedNetwork {
  private output = '';
  private partialLine = '';
  private watching = false;
  private readonly exited: Promise<number | null>;
  /** Warnings and errors logged once the network was running, the first few of them kept. */
  readonly warnings = { count: 0, first: [] as string[] };

  private constructor(private readonly child: ChildProcess) {
    const keep = (chunk: Buffer) => {
      const text = chunk.toString();
      this.output = (this.output + text).slice(-OUTPUT_KEPT_CHARS);
      if (this.watching) this.watch(text);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  /** Writes `$home/network.yaml` from the example network on free ports and starts the launcher there. */
  static async start(
    workspace: string,
    home: string,
  ): Promise<{ network: EmbeddedNetwork; ports: NetworkPorts }> {
    const ports = { east: await freePort(), west: await freePort() };
    const entropy = [await freePort(), await freePort(), await freePort()];
    writeFileSync(path.join(home, 'network.yaml'), networkFile(workspace, ports, entropy));
    const child = spawn(process.execPath, [path.join(workspace, 'embedded/dist/main.js')], {
      cwd: home,
      env: {
        PATH: process.env['PATH'] ?? '',
        DQKD_HOME: home,
        DQKD_HEALTH_PORT: String(await freePortRun(HEALTH_PORTS)),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return { network: new EmbeddedNetwork(child), ports };
  }

  async running(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.output.includes('DQKD is running')) {
      if (this.child.exitCode !== null) throw new Error(`the network stopped:\n${this.output}`);
      if (Date.now() > deadline)
        throw new Error(`the network was not running after ${timeoutMs} ms:\n${this.output}`);
      await sleep(200);
    }
    this.watching = true;
  }

  /**
   * Ctrl-C, as a person would stop `npm start`; SIGKILL if it has not exited in time. Resolves to the exit
   * code, or to "killed".
   */
  async stop(timeoutMs: number): Promise<number | null | 'killed'> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.child.exitCode;
    this.child.kill('SIGINT');
    const timedOut = Symbol('timeout');
    const first = await Promise.race([this.exited, sleep(timeoutMs).then(() => timedOut)]);
    if (first !== timedOut) return first as number | null;
    this.child.kill('SIGKILL');
    await this.exited;
    return 'killed';
  }

  private watch(text: string): void {
    const lines = (this.partialLine + text).split('\n');
    this.partialLine = lines.pop() ?? '';
    // The apps log JSON lines (pino); anything before the first app starts is Nest's plain text.
    for (const line of lines.filter((each) => /"level":"(warn|error|fatal)"|\b(WARN|ERROR)\b/.test(each))) {
      this.warnings.count++;
      if (this.warnings.first.length < WARNINGS_KEPT) this.warnings.first.push(line.trim());
    }
  }
}

/** The repository's example network, moved to the given ports, with the per-SAE rate limit raised. */
function networkFile(workspace: string, ports: NetworkPorts, entropy: readonly number[]): string {
  const example = readFileSync(path.join(workspace, 'config/network.example.yaml'), 'utf8');
  const replacements: [RegExp | string, string][] = [
    ['https://127.0.0.1:8443', `https://127.0.0.1:${ports.east}`],
    ['https://127.0.0.1:9443', `https://127.0.0.1:${ports.west}`],
    ['https://127.0.0.1:7101', `https://127.0.0.1:${entropy[0]}`],
    ['https://127.0.0.1:7102', `https://127.0.0.1:${entropy[1]}`],
    ['https://127.0.0.1:7103', `https://127.0.0.1:${entropy[2]}`],
    [/sae_requests_per_second: [\d.]+/, `sae_requests_per_second: ${RAISED_SAE_RATE}`],
    [/sae_request_burst: \d+/, `sae_request_burst: ${RAISED_SAE_RATE}`],
  ];
  // A silently missed replacement would benchmark the wrong ports or a throttled network.
  return replacements.reduce(
    (text, [from, to]) => {
      const next = text.replace(from, to);
      if (next === text) throw new Error(`config/network.example.yaml no longer contains ${String(from)}`);
      return next;
    },
    example.replaceAll('../.dqkd/pki/', 'pki/'),
  );
}

function listen(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(undefined));
    server.listen(port, '127.0.0.1', () => {
      const bound = (server.address() as { port: number }).port;
      server.close(() => resolve(bound));
    });
  });
}

async function freePort(): Promise<number> {
  const port = await listen(0);
  if (port === undefined) throw new Error('no free port on 127.0.0.1');
  return port;
}

/** The first of `count` consecutive ports that are free now. */
async function freePortRun(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    // Below the ephemeral range (32768 on), where outgoing connections would take ports between check and use.
    const base = 20_000 + Math.floor(Math.random() * 12_000);
    let free = true;
    for (let port = base; free && port < base + count; port++) free = (await listen(port)) !== undefined;
    if (free) return base;
  }
  throw new Error(`no ${count} consecutive free ports on 127.0.0.1`);
}
