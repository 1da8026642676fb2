/**
 * The embedded default (`embedded/dist/main.js`) as a child process in a private DQKD_HOME, on free
 * 127.0.0.1 ports, with the per-SAE rate limit raised so the benchmark measures the network, not the limiter.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';

import { prepareHome } from '@dqkd/embedded/dist/observe';

import { sleep } from './load-generator';
import { keyGeneratorMetrics } from './quiet-pools';

/** Far above what 16 clients can ask for, so no request of the benchmark is throttled. */
export const RAISED_SAE_RATE = 1_000_000;

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
  /** The key-generators' metrics URLs, from the banner printed once the network runs. */
  keyGeneratorMetrics: string[] = [];

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

  /** The launcher's process ID: the network's apps run in it, its Postgres servers under it. */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Writes `$home/network.yaml` from the example network on free ports and starts the launcher there. */
  static async start(
    workspace: string,
    home: string,
  ): Promise<{ network: EmbeddedNetwork; ports: NetworkPorts }> {
    const ports = await prepareHome(home, {
      sae_requests_per_second: RAISED_SAE_RATE,
      sae_request_burst: RAISED_SAE_RATE,
    });
    const child = spawn(process.execPath, [path.join(workspace, 'embedded/dist/main.js')], {
      cwd: home,
      env: {
        PATH: process.env['PATH'] ?? '',
        DQKD_HOME: home,
        DQKD_HEALTH_PORT: String(ports.health),
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
    this.keyGeneratorMetrics = keyGeneratorMetrics(this.output);
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
