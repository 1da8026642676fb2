import { spawn } from 'node:child_process';
import * as path from 'node:path';

/** Runs the process with the shutdown step given, stops it with SIGTERM once it runs: its exit code and output. */
function stopWith(step: 'hangs' | 'settles'): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [path.join(__dirname, 'support/stopping-process.js')], {
    env: { PATH: process.env['PATH'] ?? '', STOP_STEP: step },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
    if (output.includes('is running') && child.signalCode === null && !child.killed) child.kill('SIGTERM');
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, output })));
}

/**
 * runProcess's stop: exit 0 only once the application closed. A shutdown step waiting on something nothing
 * settles let the event loop empty before the stop's deadline, and the process ended with 0 as if it had
 * stopped cleanly.
 */
describe('a process stopped with SIGTERM', () => {
  it('exits 0 and says stopped when every shutdown step finishes', async () => {
    const { code, output } = await stopWith('settles');
    expect(code).toBe(0);
    expect(output).toContain('"msg":"stopped"');
  });

  it('exits 1 and says so when a shutdown step never finishes', async () => {
    const { code, output } = await stopWith('hangs');
    expect(code).toBe(1);
    expect(output).toContain('the stop never finished');
    expect(output).not.toContain('"msg":"stopped"');
  });
});
