import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

import { createLedgerDataSource, Keyring, Ledger } from '@dqkd/ledger';

import { WORKSPACE } from './support/app-process';
import { createTestDatabase, dropTestDatabase } from './support/test-site';

const run = promisify(execFile);

/** `npm run rewrap`'s program, as an operator runs it (step 3 of rotating the KEK in docs/operations.md). */
async function rewrap(
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const cli = path.join(WORKSPACE, 'libs/ledger/dist/cli/rewrap.js');
  try {
    const { stdout, stderr } = await run(process.execPath, [cli], {
      env: { PATH: process.env['PATH'], ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

const kek = () => randomBytes(32).toString('base64');

describe('npm run rewrap', () => {
  let databaseUrl: string;
  const [v1, v2] = [kek(), kek()];
  const opened: Ledger[] = [];

  async function ledgerWith(keyring: string): Promise<Ledger> {
    const dataSource = createLedgerDataSource(databaseUrl, { poolSize: 2 });
    await dataSource.initialize();
    const ledger = new Ledger(dataSource, Keyring.parse(keyring, 'keyring'));
    opened.push(ledger);
    return ledger;
  }

  beforeAll(async () => {
    databaseUrl = await createTestDatabase('dqkd_rewrap');
    await run(process.execPath, [path.join(WORKSPACE, 'libs/ledger/dist/cli/migrate.js')], {
      env: { PATH: process.env['PATH'], DATABASE_URL: databaseUrl },
    });
  });

  afterAll(async () => {
    await Promise.all(opened.map((ledger) => ledger.close()));
    await dropTestDatabase(databaseUrl);
  });

  it('moves every row onto the new version, and exits 1 while a row the site holds locked is left', async () => {
    const old = await ledgerWith(`1:${v1}`);
    const link = await old.links.ensure('kme-east', 'kme-west', 1024);
    const blocks = [0, 1].map(() => ({ id: randomUUID(), material: randomBytes(128) }));
    for (const block of blocks) {
      await old.blocks.store({
        ...block,
        linkId: link.id,
        role: 'source',
        state: 'ready',
        bits: 1024,
        metadata: Buffer.from('sealed metadata'),
        expiresAt: new Date(Date.now() + 3_600_000),
      });
    }
    const env = { DATABASE_URL: databaseUrl, DQKD_KEK: `1:${v1},2:${v2}` };

    // A gateway taking bits out of the first block holds its row for the whole run.
    const holder = old.dataSource.createQueryRunner();
    await holder.connect();
    await holder.startTransaction();
    await holder.query('SELECT id FROM blocks WHERE id = $1 FOR UPDATE', [blocks[0]!.id]);
    const held = await rewrap(env).finally(async () => {
      await holder.rollbackTransaction();
      await holder.release();
    });
    expect(held.code).toBe(1);
    expect(JSON.parse(held.stdout)).toEqual({ version: 2, blocks: 1, keys: 0, unreadable: [], remaining: 1 });
    expect(held.stderr).toMatch(/1 rows are still under an older version .*: run it again/);

    const again = await rewrap(env);
    expect(again).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(again.stdout)).toEqual({
      version: 2,
      blocks: 1,
      keys: 0,
      unreadable: [],
      remaining: 0,
    });

    // Version 1 can go now: every row opens with version 2 alone.
    const rotated = await ledgerWith(`2:${v2}`);
    for (const block of blocks) expect(await rotated.blocks.readMaterial(block.id)).toEqual(block.material);
  });

  it('reads a DQKD_KEK_FILE named relative to where the operator ran npm (INIT_CWD)', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'dqkd-rewrap-'));
    try {
      await writeFile(path.join(dir, 'kek-east'), `2:${v2},1:${v1}\n`);
      const result = await rewrap({ DATABASE_URL: databaseUrl, DQKD_KEK_FILE: 'kek-east', INIT_CWD: dir });
      expect(result).toMatchObject({ code: 0, stdout: expect.stringContaining('"version":2') });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('says what is missing without DATABASE_URL or a keyring', async () => {
    expect(await rewrap({})).toMatchObject({ code: 2, stderr: expect.stringMatching(/^DATABASE_URL: /) });
    expect(await rewrap({ DATABASE_URL: databaseUrl })).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/^DQKD_KEK or DQKD_KEK_FILE: /),
    });
  });
});
