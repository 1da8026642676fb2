import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';

export const WORKSPACE = path.resolve(__dirname, '../../..');

/** A built app (`apps/<app>/dist/main.js`) running as its own process, with its output collected. */
export class AppProcess {
  private output = '';
  private readonly exited: Promise<number | null>;

  private constructor(private readonly child: ChildProcess) {
    child.stdout?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    this.exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  }

  static start(app: string, env: Record<string, string>, cwd: string): AppProcess {
    const main = path.join(WORKSPACE, 'apps', app, 'dist', 'main.js');
    // Only what the test gives: an inherited DATABASE_URL or NATS_URL would change the mode.
    const base = { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '' };
    return new AppProcess(spawn(process.execPath, [main], { cwd, env: { ...base, ...env } }));
  }

  get text(): string {
    return this.output;
  }

  /** Resolves with the exit code, or rejects once `timeoutMs` has passed. */
  exit(timeoutMs = 20_000): Promise<number | null> {
    return within(this.exited, timeoutMs, () => `no exit within ${timeoutMs} ms; output:\n${this.output}`);
  }

  async waitFor(text: string, timeoutMs = 20_000): Promise<void> {
    const seen = new Promise<void>((resolve, reject) => {
      const check = () => {
        if (this.output.includes(text)) return resolve();
        if (this.child.exitCode !== null)
          return reject(new Error(`exited before "${text}":\n${this.output}`));
        setTimeout(check, 50);
      };
      check();
    });
    await within(seen, timeoutMs, () => `"${text}" not seen within ${timeoutMs} ms; output:\n${this.output}`);
  }

  /** The readiness answer of the health URL the process announced once running. */
  async readiness(): Promise<{ status: number; body: unknown }> {
    const url = /health on (http:\/\/\S+\/health\/ready)/.exec(this.output)?.[1];
    if (url === undefined) throw new Error(`no health URL announced; output:\n${this.output}`);
    const answer = await fetch(url);
    return { status: answer.status, body: await answer.json() };
  }

  signal(name: NodeJS.Signals): void {
    this.child.kill(name);
  }
}

function within<T>(promise: Promise<T>, ms: number, message: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message())), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
