import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync, realpathSync, rmSync } from 'node:fs';
import { join } from 'node:path';

import { EmbeddedPostgresError } from '../errors';

/** How long a server gets for a fast shutdown (SIGINT) before SIGKILL. */
export const STOP_TIMEOUT_MS = 15_000;

/**
 * A cluster whose owner (the process that started it) was killed keeps running on its own; the next start
 * stops it, so a start after a killed run recovers by itself. Only a process shown to be the postmaster of
 * this very folder is signalled: postmaster.pid outlives a crash or a reboot, and its PID may since belong to
 * any process of the machine (as root, any user's). A cluster whose owner is alive is left alone
 * (removeStalePidFile then refuses to start a second server on it).
 */
export async function stopOrphan(dataDir: string, ownerFile: string): Promise<void> {
  const pid = postmasterPid(join(dataDir, 'postmaster.pid'));
  if (pid === undefined || !isAlive(pid) || !existsSync(ownerFile)) return;
  const owner = Number(readFileSync(ownerFile, 'utf8').trim());
  if (!Number.isInteger(owner) || owner === process.pid || isAlive(owner)) return;
  if (clusterOf(pid, dataDir) !== 'this') return;
  signal(pid, 'SIGINT', dataDir);
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  while (isAlive(pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  if (isAlive(pid)) signal(pid, 'SIGKILL', dataDir);
  while (isAlive(pid)) await new Promise((resolve) => setTimeout(resolve, 50));
}

/**
 * A cluster killed with SIGKILL leaves postmaster.pid behind, which Postgres would take for a server still
 * running. It is removed when its PID is not alive, or is alive as some other process (the PID was reused).
 * A live postmaster of the folder, or a process this user cannot tell, keeps it: two postmasters on one folder
 * would corrupt it.
 */
export function removeStalePidFile(dataDir: string): void {
  const pidFile = join(dataDir, 'postmaster.pid');
  const pid = postmasterPid(pidFile);
  if (pid !== undefined && isAlive(pid) && clusterOf(pid, dataDir) !== 'other') {
    throw new EmbeddedPostgresError(
      `${dataDir} is in use by process ${pid}; stop it before starting this cluster`,
    );
  }
  rmSync(pidFile, { force: true });
}

/** The PID a postmaster.pid names; undefined when there is no such file, or no PID in it. */
function postmasterPid(pidFile: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(pidFile, 'utf8');
  } catch {
    return undefined;
  }
  const pid = Number(text.split('\n')[0]);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether the live process `pid` is the postmaster of `dataDir`: 'this', 'other' (some other process), or
 * 'unknown' when this user may not look. A postmaster works in its data folder (Linux shows it as
 * /proc/PID/cwd); where there is no /proc, its command line names the folder after -D, as startEmbeddedPostgres
 * spawns it.
 */
function clusterOf(pid: number, dataDir: string): 'this' | 'other' | 'unknown' {
  const folder = realpathSync(dataDir);
  try {
    return realpathSync(readlinkSync(`/proc/${pid}/cwd`)) === folder ? 'this' : 'other';
  } catch (error) {
    if (existsSync('/proc/self'))
      return (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'other' : 'unknown';
  }
  try {
    const command = execFileSync('ps', ['-o', 'command=', '-p', String(pid)], { encoding: 'utf8' });
    return command.includes(` -D ${dataDir} `) || command.includes(` -D ${folder} `) ? 'this' : 'other';
  } catch {
    return 'unknown';
  }
}

function signal(pid: number, name: NodeJS.Signals, dataDir: string): void {
  try {
    process.kill(pid, name);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ESRCH') return;
    throw new EmbeddedPostgresError(
      `${dataDir} is run by process ${pid}, left by a killed start, which this user may not stop (${code}); ` +
        'stop it as its owner',
    );
  }
}
