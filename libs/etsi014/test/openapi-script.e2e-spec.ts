import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import { openApiDocument } from '../src';

const run = promisify(execFile);
const LIBRARY = path.resolve(__dirname, '..');

describe('the openapi script', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'dqkd-openapi-'));
    await run(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
      cwd: LIBRARY,
      timeout: 60_000,
    });
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes the OpenAPI document from the built library to the file it is given', async () => {
    const target = path.join(dir, 'nested', 'openapi.json');
    const { stdout } = await run(process.execPath, ['dist/cli/write-openapi.js', target], {
      cwd: LIBRARY,
      timeout: 10_000,
    });
    expect(stdout).toBe(`wrote ${target}\n`);
    expect(JSON.parse(await readFile(target, 'utf8'))).toEqual(JSON.parse(JSON.stringify(openApiDocument)));
  });
});
