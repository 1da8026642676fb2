/**
 * CPU time of the processes under test, read from Linux's /proc, so the benchmark shows where a request's CPU
 * goes and how much of the two cores a scenario leaves idle, next to its rate.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** CPU seconds, split into Postgres servers (the embedded clusters) and everything else. */
export interface CpuSeconds {
  readonly postgres: number;
  readonly other: number;
}

interface Stat {
  readonly pid: number;
  readonly ppid: number;
  readonly command: string;
  /** utime + stime + cutime + cstime: the process's own CPU and that of its children already reaped. */
  readonly ticks: number;
}

const TICKS_PER_SECOND = clockTicks();

function clockTicks(): number {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
}

function readStat(pid: string): Stat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined; // it exited between listing and reading
  }
  // The command sits in parentheses and may itself hold spaces or parentheses.
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  const fields = text.slice(close + 2).split(' ');
  const [utime, stime, cutime, cstime] = [11, 12, 13, 14].map((i) => Number(fields[i]));
  return {
    pid: Number(pid),
    ppid: Number(fields[1]),
    command: text.slice(open + 1, close),
    ticks: utime! + stime! + cutime! + cstime!,
  };
}

/**
 * CPU seconds used so far by `rootPid` and all its descendants. Postgres backends that exited meanwhile are in
 * their postmaster's reaped-children time, so nothing is lost between two readings. Zero off Linux.
 */
export function treeCpuSeconds(rootPid: number): CpuSeconds {
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return { postgres: 0, other: 0 };
  }
  const stats = entries.flatMap((pid) => readStat(pid) ?? []);
  const children = new Map<number, Stat[]>();
  for (const stat of stats) {
    const siblings = children.get(stat.ppid);
    if (siblings === undefined) children.set(stat.ppid, [stat]);
    else siblings.push(stat);
  }
  let postgres = 0;
  let other = 0;
  const root = stats.find((stat) => stat.pid === rootPid);
  const pending = root === undefined ? [] : [root];
  for (let stat = pending.pop(); stat !== undefined; stat = pending.pop()) {
    if (stat.command === 'postgres') postgres += stat.ticks;
    else other += stat.ticks;
    pending.push(...(children.get(stat.pid) ?? []));
  }
  return { postgres: postgres / TICKS_PER_SECOND, other: other / TICKS_PER_SECOND };
}

/** CPU seconds of this process (the load generator), all threads. */
export function ownCpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}
