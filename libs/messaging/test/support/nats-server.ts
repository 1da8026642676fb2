import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { sleep } from './wait';

/**
 * A nats-server of this test's own, on a free 127.0.0.1 port with its own store
 * directory, so it can be killed and restarted without touching the shared one.
 */
export class PrivateNatsServer {
  private process: ChildProcess | undefined;

  private constructor(
    readonly port: number,
    readonly storeDir: string,
    private readonly configFile: string | undefined,
  ) {}

  /** `config`: the text of a configuration file (TLS, accounts); address, port and store come from here. */
  static async start(config?: string): Promise<PrivateNatsServer> {
    const storeDir = await mkdtemp(join(tmpdir(), 'dqkd-nats-'));
    let configFile: string | undefined;
    if (config !== undefined) {
      configFile = join(storeDir, 'nats-server.conf');
      await writeFile(configFile, config);
    }
    const server = new PrivateNatsServer(await freePort(), storeDir, configFile);
    await server.restart();
    return server;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** Starts it again on the same port and store directory. */
  async restart(): Promise<void> {
    const config = this.configFile === undefined ? [] : ['-c', this.configFile];
    const child = spawn(
      'nats-server',
      [...config, '-a', '127.0.0.1', '-p', String(this.port), '-js', '-sd', this.storeDir],
      { stdio: 'ignore' },
    );
    this.process = child;
    const deadline = Date.now() + 10_000;
    while (!(await accepts(this.port))) {
      if (child.exitCode !== null || Date.now() > deadline) {
        throw new Error('private nats-server did not start');
      }
      await sleep(50);
    }
  }

  /** SIGKILL: a crash, not a graceful shutdown. */
  async kill(): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  async stop(): Promise<void> {
    await this.kill();
    await rm(this.storeDir, { recursive: true, force: true });
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

export function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean) => (socket.destroy(), resolve(ok));
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.connect(port, '127.0.0.1', () => done(true));
  });
}
