import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

import { WORKSPACE } from './support/app-process';

/**
 * Lints code as if it sat at `file`, with the workspace's own ESLint config and CLI (its flat
 * config is ESM, which Jest's module system cannot load in-process).
 */
async function ruleIdsFor(file: string, code: string): Promise<string[]> {
  const cli = path.join(WORKSPACE, 'node_modules/eslint/bin/eslint.js');
  const run = spawnSync(process.execPath, [cli, '--stdin', '--stdin-filename', file, '--format', 'json'], {
    cwd: WORKSPACE,
    input: code,
    encoding: 'utf8',
  });
  const [result] = JSON.parse(run.stdout) as { messages: { ruleId: string | null; message: string }[] }[];
  return result!.messages.map((message) => message.ruleId ?? message.message);
}

describe('module boundaries', () => {
  it('refuses an app importing another app by its package name', async () => {
    const rules = await ruleIdsFor(
      'apps/api-gateway/src/app/probe.ts',
      "import { AppModule } from '@dqkd/ttl-reaper';\nexport const probe = AppModule;\n",
    );
    expect(rules).toContain('no-restricted-imports');
  });

  it('refuses an app importing another app by a relative path', async () => {
    const rules = await ruleIdsFor(
      'apps/api-gateway/src/app/probe.ts',
      "import { AppModule } from '../../../replication/src/app/app.module';\nexport const probe = AppModule;\n",
    );
    expect(rules).toContain('no-restricted-imports');
  });

  it('refuses a library importing an app', async () => {
    const rules = await ruleIdsFor(
      'libs/ledger/src/probe.ts',
      "import { AppModule } from '@dqkd/api-gateway';\nexport const probe = AppModule;\n",
    );
    expect(rules).toContain('no-restricted-imports');
  });

  it('lets an app import libraries', async () => {
    const rules = await ruleIdsFor(
      'apps/api-gateway/src/app/probe.ts',
      "import { Ledger } from '@dqkd/ledger';\nexport const probe = Ledger;\n",
    );
    expect(rules).toEqual([]);
  });
});
