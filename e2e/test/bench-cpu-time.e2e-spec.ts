import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

import { treeCpuSeconds } from '../../bench/load/cpu-time';

/** Uses `ms` of CPU time, however long other processes keep it off the core, then exits. */
const burn = (ms: number) =>
  `const from = process.cpuUsage(); for (let used = 0; used < ${ms * 1000}; ) { const u = process.cpuUsage(from); used = u.user + u.system; }`;

describe('the load benchmark reads CPU time from /proc', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'dqkd-cpu-'));
  // A process whose command is "postgres", as the embedded clusters' servers are.
  const postgres = path.join(dir, 'postgres');
  symlinkSync(process.execPath, postgres);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('counts descendants that ran and exited during the window, Postgres servers apart', async () => {
    // On "go" the parent runs a plain child that burns 400 ms, then starts a "postgres" server that runs a
    // "postgres" backend burning 400 ms. Both children have exited when the window closes, as Postgres
    // backends and autovacuum workers do: their CPU is only in their parents' reaped-children time then.
    const server = `require('node:child_process').spawnSync(${JSON.stringify(postgres)}, ['-e', ${JSON.stringify(burn(400))}]);
      process.stdout.write('done\\n');
      setInterval(() => undefined, 1000);`;
    const parent = spawn(
      process.execPath,
      [
        '-e',
        `const { spawn, spawnSync } = require('node:child_process');
         process.stdin.once('data', () => {
           spawnSync(process.execPath, ['-e', ${JSON.stringify(burn(400))}]);
           spawn(${JSON.stringify(postgres)}, ['-e', ${JSON.stringify(server)}], { stdio: ['ignore', 'inherit', 'inherit'] });
         });
         setInterval(() => undefined, 1000);`,
      ],
      // A group of its own, so the whole tree can be stopped at once.
      { stdio: ['pipe', 'pipe', 'inherit'], detached: true },
    );
    try {
      await new Promise((resolve) => parent.once('spawn', resolve));
      await new Promise((resolve) => setTimeout(resolve, 300));
      const before = treeCpuSeconds(parent.pid!);
      const done = new Promise((resolve) => parent.stdout!.once('data', resolve));
      parent.stdin!.write('go\n');
      await done;
      const after = treeCpuSeconds(parent.pid!);

      expect(after.postgres - before.postgres).toBeGreaterThan(0.3);
      expect(after.postgres - before.postgres).toBeLessThan(1);
      expect(after.other - before.other).toBeGreaterThan(0.3);
      expect(after.other - before.other).toBeLessThan(1);
    } finally {
      process.kill(-parent.pid!, 'SIGKILL');
    }
  });

  it('reads nothing for a process that is not there', () => {
    expect(treeCpuSeconds(2 ** 22 + 12345)).toEqual({ postgres: 0, other: 0 });
  });
});
