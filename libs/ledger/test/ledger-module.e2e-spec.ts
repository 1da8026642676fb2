import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';

import { type DynamicModule, Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';

import { Ledger } from '../src/ledger';
import { LEDGER_READINESS, LedgerModule } from '../src/nest/ledger.module';
import {
  DATABASE_MODES,
  privateDir,
  startTestDatabase,
  TestDatabase,
  withClient,
} from './support/test-database';

/** Stands for any provider of an app that takes the ledger by constructor injection. */
@Injectable()
class PoolFiller {
  constructor(readonly ledger: Ledger) {}

  ensureLink() {
    return this.ledger.links.ensure('kme-east', 'kme-west', 512);
  }
}

@Module({})
class SiteModule {
  static with(env: NodeJS.ProcessEnv): DynamicModule {
    return {
      module: SiteModule,
      imports: [LedgerModule.forRoot({ name: 'kme-east', env })],
      providers: [PoolFiller],
    };
  }
}

const boot = (env: NodeJS.ProcessEnv) =>
  NestFactory.createApplicationContext(SiteModule.with(env), { logger: ['error'], abortOnError: false });

/** Connections the ledger's pool holds to `database`; a closed pool's backends go away within moments. */
async function ledgerConnections(adminUrl: string, database: string, expectNone = false): Promise<number> {
  for (let attempt = 0; ; attempt += 1) {
    const result = await withClient(adminUrl, (client) =>
      client.query<{ count: number }>(
        `SELECT count(*)::int AS count FROM pg_stat_activity WHERE datname = $1 AND application_name = 'dqkd-ledger'`,
        [database],
      ),
    );
    const count = result.rows[0].count;
    if (!expectNone || count === 0 || attempt === 40) {
      return count;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe.each(DATABASE_MODES)('LedgerModule with DATABASE_URL on %s', (mode) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await startTestDatabase(mode);
  });
  afterAll(() => database.dispose());

  it('injects one opened ledger into providers and closes its pool when the application closes', async () => {
    const app = await boot({
      DATABASE_URL: database.url,
      DQKD_KEK: `1:${randomBytes(32).toString('base64')}`,
      DQKD_MIGRATE: 'true',
    });
    const ledger = app.get(Ledger);
    const readiness = app.get<{ check(): Promise<void> }>(LEDGER_READINESS);
    await expect(readiness.check()).resolves.toBeUndefined();
    const name = new URL(database.url).pathname.slice(1);
    try {
      expect(app.get(PoolFiller).ledger).toBe(ledger);
      const link = await app.get(PoolFiller).ensureLink();
      expect(await ledger.links.find('kme-east', 'kme-west')).toEqual(link);
      expect(await ledgerConnections(database.adminUrl, name)).toBeGreaterThan(0);
    } finally {
      await app.close();
    }
    await expect(readiness.check()).rejects.toThrow();
    expect(ledger.dataSource.isInitialized).toBe(false);
    expect(await ledgerConnections(database.adminUrl, name, true)).toBe(0);
  });
});

describe('LedgerModule on the embedded default', () => {
  let home: string;
  beforeAll(() => {
    home = privateDir('dqkd-ledger-nest-');
  });
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  it('starts the embedded Postgres with the application and stops it on close', async () => {
    const app = await boot({ DQKD_HOME: home });
    const ledger = app.get(Ledger);
    const { options } = ledger.dataSource;
    const url = options.type === 'postgres' ? options.url : undefined;
    try {
      expect(await app.get(PoolFiller).ensureLink()).toMatchObject({ blockBits: 512 });
    } finally {
      await app.close();
    }
    expect(ledger.dataSource.isInitialized).toBe(false);
    expect(url).toMatch(/^postgres:\/\/.*@127\.0\.0\.1:\d+\//);
    await expect(withClient(url as string, (client) => client.query('SELECT 1'))).rejects.toThrow(
      /ECONNREFUSED/,
    );
  });
});
