import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import * as path from 'node:path';

import { assertPortsFree } from '../free-ports';

/** The repository, where the built launcher and the example network file are. */
export const WORKSPACE = path.resolve(__dirname, '../../..');

/** A port nobody listens on now, so a run never meets a developer's own `npm start`. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** Ports the launcher takes one after the other: the health ports of eleven apps, the three entropy servers. */
const HEALTH_PORTS = 11;
const ENTROPY_PORTS = 3;
// Below Linux's ephemeral range (32768 on), so no outgoing connection of a parallel test takes one of them
// between this check and the launcher's listen.
const RUN_PORTS_FROM = 20_000;
const RUN_PORTS_BELOW = 32_768;

function listens(port: number): Promise<boolean> {
  return assertPortsFree('127.0.0.1', [port]).then(
    () => true,
    () => false,
  );
}

/** The first of `count` consecutive ports, outside the ephemeral range, that are free now. */
export async function freePortRun(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = RUN_PORTS_FROM + Math.floor(Math.random() * (RUN_PORTS_BELOW - RUN_PORTS_FROM - count));
    let free = true;
    for (let port = base; free && port < base + count; port++) free = await listens(port);
    if (free) return base;
  }
  throw new Error(`no ${count} consecutive free ports on 127.0.0.1`);
}

export interface EmbeddedPorts {
  readonly east: number;
  readonly west: number;
  /** First health/metrics port; the apps take the ones after it. */
  readonly health: number;
}

/**
 * Writes into `home` the network file the launcher would write, moved to free ports (ETSI, entropy servers,
 * and a random range for health), so a run does not need the default ports; `limits` replaces those settings
 * of the example's network-wide limits (a setting the example lacks is an error, never silently skipped).
 */
export async function prepareHome(
  home: string,
  limits: Readonly<Record<string, number>> = {},
): Promise<EmbeddedPorts> {
  const ports = {
    east: await freePortRun(1),
    west: await freePortRun(1),
    health: await freePortRun(HEALTH_PORTS),
  };
  mkdirSync(home, { recursive: true });
  const entropyRun = await freePortRun(ENTROPY_PORTS);
  let text = readFileSync(path.join(WORKSPACE, 'config/network.example.yaml'), 'utf8')
    .replaceAll('../.dqkd/pki/', 'pki/')
    .replace('https://127.0.0.1:8443', `https://127.0.0.1:${ports.east}`)
    .replace('https://127.0.0.1:9443', `https://127.0.0.1:${ports.west}`)
    .replace(
      /https:\/\/127\.0\.0\.1:710(\d)/g,
      (_, n: string) => `https://127.0.0.1:${entropyRun + Number(n) - 1}`,
    );
  for (const [name, value] of Object.entries(limits)) {
    const setting = new RegExp(`^(\\s*${name}:) [\\d.]+`, 'm');
    if (!setting.test(text)) throw new Error(`config/network.example.yaml sets no ${name}`);
    text = text.replace(setting, `$1 ${value}`);
  }
  writeFileSync(path.join(home, 'network.yaml'), text);
  return ports;
}

/** One app's metrics as the banner prints it: `metrics <app> <site or server>: <url>`. */
export interface MetricsEndpoint {
  readonly app: string;
  readonly owner: string;
  readonly url: string;
}

/** `npm start`'s process (the built launcher) in its own DQKD_HOME, with its output collected. */
export class EmbeddedProcess {
  output = '';
  private readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;

  /**
   * `ownGroup`: a process group of its own, as a terminal's foreground job, so that stop can signal the whole
   * group as Ctrl-C does; the caller must then stop it, since nothing else signals it. `npmStart`: as a user
   * runs it, `npm start` in the workspace (npm and its shell between this and the launcher), not the launcher
   * alone.
   */
  constructor(
    home: string,
    healthPortBase: number,
    env: Record<string, string> = {},
    { ownGroup = false, npmStart = false }: { ownGroup?: boolean; npmStart?: boolean } = {},
  ) {
    const [command, args] = npmStart
      ? ['npm', ['start', '--silent']]
      : [process.execPath, [path.join(WORKSPACE, 'embedded/dist/main.js')]];
    this.child = spawn(command, args, {
      cwd: npmStart ? WORKSPACE : home,
      env: {
        PATH: process.env['PATH'] ?? '',
        ...(npmStart && { HOME: process.env['HOME'] ?? home }),
        DQKD_HOME: home,
        DQKD_HEALTH_PORT: String(healthPortBase),
        ...env,
      },
      detached: ownGroup,
    });
    this.child.stdout!.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    this.child.stderr!.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
  }

  async running(timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.output.includes('DQKD is running')) {
      // A launcher ended by a signal (killed, out of memory) has no exit code, only the signal.
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(
          `the network stopped (${this.child.exitCode ?? this.child.signalCode}):\n${this.output}`,
        );
      }
      if (Date.now() > deadline) throw new Error(`not running after ${timeoutMs} ms:\n${this.output}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  /** Every metrics URL of the banner, one line per app. */
  metricsEndpoints(): MetricsEndpoint[] {
    return [...this.output.matchAll(/^ {2}metrics (\S+) (\S+): (http:\/\/\S+\/metrics)$/gm)].map((m) => ({
      app: m[1]!,
      owner: m[2]!,
      url: m[3]!,
    }));
  }

  /** Resolves to the exit code once the launcher has exited by itself. */
  exit(): Promise<number | null> {
    return this.exited;
  }

  /**
   * Signals the launcher, or with `group` (for one started with `ownGroup`) its whole process group, as Ctrl-C
   * in a terminal signals every process of the foreground job (the Postgres servers the launcher started among
   * them, unless they left it).
   */
  async stop(signal: NodeJS.Signals, { group = false }: { group?: boolean } = {}): Promise<number | null> {
    if (group) process.kill(-this.child.pid!, signal);
    else this.child.kill(signal);
    return this.exited;
  }
}
