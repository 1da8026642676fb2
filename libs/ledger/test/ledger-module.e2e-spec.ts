import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';

import { DqkdConfig, DqkdConfigModule, parseNetwork, parseProcessEnv } from '@dqkd/config';
import { ed25519 } from '@noble/curves/ed25519.js';
import { ml_kem768_x25519 } from '@noble/post-quantum/hybrid.js';
import { type DynamicModule, Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { stringify } from 'yaml';

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

describe('LedgerModule in an app with a validated configuration', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await startTestDatabase('real Postgres');
  });
  afterAll(() => database.dispose());

  const publicKeys = () => ({
    kem_public_key: Buffer.from(ml_kem768_x25519.keygen().publicKey).toString('base64'),
    sig_public_key: Buffer.from(ed25519.keygen().publicKey).toString('base64'),
  });

  /** One site's configuration, as loadProcessConfig would give it from that site's own environment. */
  function siteConfig(env: Record<string, string>): DqkdConfig {
    const network = parseNetwork(
      stringify({
        version: 1,
        kmes: ['kme-east', 'kme-west'].map((id, i) => ({
          id,
          site: id.slice(4),
          api_url: `https://127.0.0.1:${8443 + i * 1000}`,
          public_keys: publicKeys(),
        })),
        saes: [{ id: 'sae-alice', certificate_cn: 'sae-alice', kme: 'kme-east' }],
        entropy_servers: [1, 2, 3].map((n) => ({
          id: `entropy-${n}`,
          url: `https://127.0.0.1:${7100 + n}`,
          certificate_cn: `entropy-${n}`,
        })),
      }),
      { file: 'network.yaml', location: '/etc/dqkd/network.yaml', readFile: () => '' },
    );
    const parsed = parseProcessEnv(
      { KME_ID: 'kme-east', DQKD_NETWORK_FILE: '/etc/dqkd/network.yaml', ...env },
      '/',
    );
    return new DqkdConfig(network, { ...parsed.env!, http: { ...parsed.env!.http, apiPort: 8443 } });
  }

  it('opens the database its configuration names, not whatever process.env holds', async () => {
    const config = siteConfig({
      DATABASE_URL: database.url,
      DQKD_KEK: `1:${randomBytes(32).toString('base64')}`,
      DQKD_MIGRATE: 'true',
    });
    expect(process.env['DATABASE_URL']).toBeUndefined();
    const app = await NestFactory.createApplicationContext(
      {
        module: SiteModule,
        imports: [DqkdConfigModule.forRoot(config), LedgerModule.forRoot({ name: 'kme-east' })],
      },
      { logger: ['error'], abortOnError: false },
    );
    const ledger = app.get(Ledger);
    try {
      const { options } = ledger.dataSource;
      expect(options.type === 'postgres' ? options.url : undefined).toBe(database.url);
      expect(await ledger.links.ensure('kme-east', 'kme-west', 512)).toMatchObject({ blockBits: 512 });
    } finally {
      await app.close();
    }
  });
});
