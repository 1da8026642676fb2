import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

import {
  EmbeddedProcess as EmbeddedNetwork,
  prepareHome,
  type EmbeddedPorts,
  saeClient,
} from '@dqkd/embedded/dist/observe';
import { Client } from 'pg';

import { WORKSPACE } from './support/app-process';
import { embeddedDatabaseUrl } from './support/embedded-network';
import { eventually } from './support/flow-network';

/** A connection to the running embedded Postgres of one site in `home`. */
async function siteDatabase(home: string, kmeId: string): Promise<Client> {
  const client = new Client({ connectionString: embeddedDatabaseUrl(home, kmeId) });
  // Its server goes away with the test's restart; that must not fail the test.
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

/** Processes running with `home`'s embedded Postgres data directories on their command line. */
function postgresServersOf(home: string): string[] {
  const marker = path.join(home, 'postgres');
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .flatMap((pid) => {
      try {
        const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
        return command.includes(marker) ? [`${pid}: ${command}`] : [];
      } catch {
        return []; // ended meanwhile
      }
    });
}

describe('the embedded default (npm start)', () => {
  let home: string;
  let ports: EmbeddedPorts;

  beforeAll(async () => {
    home = mkdtempSync(path.join(tmpdir(), 'dqkd-embedded-'));
    ports = await prepareHome(home);
  });

  afterAll(() => rmSync(home, { recursive: true, force: true }));

  const client = (sae: string, port: number) => saeClient(home, sae, port);

  /** Alice gets a key for Bob at kme-east; Bob fetches the same key from kme-west. */
  async function roundTrip(): Promise<void> {
    const alice = client('sae-alice', ports.east);
    const bob = client('sae-bob', ports.west);
    try {
      const sent = await alice.encKeys('sae-bob', { number: 2 });
      const fetched = await bob.decKeys(
        'sae-alice',
        sent.keys.map((key) => key.key_ID),
      );
      expect(fetched.keys.map((key) => key.key)).toEqual(sent.keys.map((key) => key.key));
      expect(Buffer.from(sent.keys[0]!.key, 'base64')).toHaveLength(32);
    } finally {
      alice.close();
      bob.close();
    }
  }

  /** `npx dqkd demo` as the launcher's banner gives it, in JSON and as its table: both halves the same. */
  async function demoAgrees(): Promise<void> {
    const cli = path.join(WORKSPACE, 'libs/client/bin/dqkd.js');
    const dqkd = (args: string[]) =>
      spawnSync(process.execPath, [cli, ...args], {
        env: { PATH: process.env['PATH'] },
        encoding: 'utf8',
        timeout: 60_000,
      });
    const json = dqkd(['demo', '--home', home, '--json']);
    expect({ status: json.status, stderr: json.stderr }).toEqual({ status: 0, stderr: '' });
    const halves = JSON.parse(json.stdout) as Record<string, { keys: { key_ID: string; key: string }[] }>;
    expect(halves['sae-alice']!.keys).toHaveLength(1);
    expect(halves['sae-bob']!.keys).toEqual(halves['sae-alice']!.keys);
    const shown = dqkd(['demo', '--home', home]);
    expect(shown.status).toBe(0);
    const row = shown.stdout.trimEnd().split('\n').at(-1)!.split(/\s+/);
    expect(row).toHaveLength(4);
    expect(row[1]).toBe(row[2]);
    expect(row[3]).toBe('yes');
  }

  it('starts the two-site network, serves keys that both sites agree on, and stops cleanly on Ctrl-C', async () => {
    const network = new EmbeddedNetwork(home, ports.health, {}, { ownGroup: true });
    // Killed if the test fails before its Ctrl-C, so that the launcher does not keep Jest waiting.
    try {
      await network.running();
      // A first start: no earlier run could have left a message undelivered.
      expect(network.output).not.toMatch(/sending again/);
      expect(network.output).toContain(`kme-east  ETSI GS QKD 014 API https://127.0.0.1:${ports.east}`);
      expect(network.output).toMatch(/curl --cacert .*sae-alice\.pem/);
      // Every app of both sites, and each entropy server, prints a metrics URL that answers.
      const endpoints = network.metricsEndpoints();
      expect(endpoints.map(({ app, owner }) => `${app} ${owner}`).sort()).toEqual(
        [
          ...['entropy-1', 'entropy-2', 'entropy-3'].map((server) => `entropy-server ${server}`),
          ...['api-gateway', 'key-generator', 'replication', 'ttl-reaper'].flatMap((app) => [
            `${app} kme-east`,
            `${app} kme-west`,
          ]),
        ].sort(),
      );
      for (const { url } of endpoints) {
        const answer = await fetch(url);
        expect({ url, status: answer.status }).toEqual({ url, status: 200 });
        expect(await answer.text()).toContain('# TYPE');
      }
      await roundTrip();
      await demoAgrees();
      // Ctrl-C in a terminal signals the launcher's whole process group. Nothing may go wrong while it stops:
      // no app may find its database gone under it.
      const before = network.output.length;
      expect(await network.stop('SIGINT', { group: true })).toBe(0);
      const complaints = network.output
        .slice(before)
        .split('\n')
        .filter((line) => /"level":"(warn|error|fatal)"/.test(line));
      expect(complaints).toEqual([]);
    } finally {
      await network.stop('SIGKILL');
    }
  });

  it.each([
    [
      'Ctrl-C, which reaches the launcher twice (the terminal signals the job, npm passes it on)',
      'SIGINT',
      true,
    ],
    ['a SIGTERM to npm alone (kill, an IDE stop button)', 'SIGTERM', false],
  ] as const)(
    'stops cleanly under npm start on %s, its Postgres servers with it',
    async (_case, signal, group) => {
      const network = new EmbeddedNetwork(home, ports.health, {}, { ownGroup: true, npmStart: true });
      try {
        await network.running();
        expect(await network.stop(signal, { group })).toBe(0);
        expect(network.output).toMatch(/^stopped$/m);
        await eventually(
          async () => postgresServersOf(home).length === 0,
          20_000,
          'the Postgres servers to stop',
        );
      } finally {
        // Whatever the launcher left of its job (were it orphaned): not the next test's business.
        await network.stop('SIGKILL', { group: true }).catch(() => undefined);
      }
    },
  );

  it('says at once, in plain words and before it starts anything, that an ETSI port is taken', async () => {
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(ports.west, '127.0.0.1', resolve));
    try {
      const network = new EmbeddedNetwork(home, ports.health);
      expect(await network.exit()).toBe(1);
      expect(network.output).toContain(
        `127.0.0.1:${ports.west} is in use: stop the DQKD (npm start) or other`,
      );
      expect(network.output).not.toContain('starting DQKD');
      expect(network.output).not.toContain('"level"');
    } finally {
      squatter.close();
    }
  });

  it('says in one line, without a stack, what is wrong with the files of its home', async () => {
    const broken = mkdtempSync(path.join(tmpdir(), 'dqkd-embedded-'));
    try {
      const brokenPorts = await prepareHome(broken);
      mkdirSync(path.join(broken, 'pki'), { mode: 0o700 });
      writeFileSync(path.join(broken, 'pki', 'sae-bob.pem'), 'left from an earlier run\n');
      const network = new EmbeddedNetwork(broken, brokenPorts.health);
      expect(await network.exit()).toBe(1);
      expect(network.output).toContain('sae-bob.pem exists without sae-bob.key; remove it to reissue both');
      expect(network.output).not.toMatch(/^\s+at /m);
    } finally {
      rmSync(broken, { recursive: true, force: true });
    }
  });

  it("stops everything and exits when the last app's health port is taken, though that app had started", async () => {
    const fresh = mkdtempSync(path.join(tmpdir(), 'dqkd-embedded-'));
    const squatter = createServer();
    let network: EmbeddedNetwork | undefined;
    try {
      const freshPorts = await prepareHome(fresh);
      // The eleventh app, kme-west's gateway, opens its ETSI port as it starts, then its health port fails.
      await new Promise<void>((resolve) => squatter.listen(freshPorts.health + 10, '127.0.0.1', resolve));
      network = new EmbeddedNetwork(fresh, freshPorts.health);
      const stillRunning = new Promise((resolve) =>
        setTimeout(() => resolve('still running'), 120_000).unref(),
      );
      // Before: the gateway was never closed, its ETSI listener kept the launcher running after its stop.
      expect(await Promise.race([network.exit(), stillRunning])).toBe(1);
      expect(network.output).toContain(`127.0.0.1:${freshPorts.health + 10} is in use`);
      expect(postgresServersOf(fresh)).toEqual([]);
    } finally {
      squatter.close();
      await network?.stop('SIGKILL');
      rmSync(fresh, { recursive: true, force: true });
    }
  }, 180_000);

  it('names its keyring file when that file is damaged, exits 78 and leaves no Postgres running', async () => {
    const broken = mkdtempSync(path.join(tmpdir(), 'dqkd-embedded-'));
    try {
      const brokenPorts = await prepareHome(broken);
      // As a kill between the file's creation and its write would leave it.
      writeFileSync(path.join(broken, 'kek'), '');
      const network = new EmbeddedNetwork(broken, brokenPorts.health);
      expect(await network.exit()).toBe(78);
      expect(network.output).toContain(`DQKD_KEK_FILE (${path.join(broken, 'kek')}): is empty`);
      expect(network.output).not.toMatch(/^\s+at /m);
      expect(postgresServersOf(broken)).toEqual([]);
    } finally {
      rmSync(broken, { recursive: true, force: true });
    }
  });

  it('stops cleanly on Ctrl-C while it creates the apps of a site on its Postgres', async () => {
    const fresh = mkdtempSync(path.join(tmpdir(), 'dqkd-embedded-'));
    let network: EmbeddedNetwork | undefined;
    try {
      const freshPorts = await prepareHome(fresh);
      network = new EmbeddedNetwork(fresh, freshPorts.health, {}, { ownGroup: true });
      // Once kme-east's Postgres runs, its replication is created (the ledger's first migrations): the stop
      // stops that Postgres under it.
      const pidFile = path.join(fresh, 'postgres', 'kme-east', 'postmaster.pid');
      await eventually(async () => existsSync(pidFile), 120_000, "kme-east's Postgres");
      // Exit 1 before: Nest ended the process when the app it was creating lost its database. (Nest still
      // logs that failure as an error line.)
      expect(await network.stop('SIGINT', { group: true })).toBe(0);
      expect(network.output).toMatch(/stopping DQKD…\n(.*\n)*stopped\n$/);
      expect(network.output).not.toContain('ETSI GS QKD 014 API');
      expect(network.output).not.toMatch(/^\s+at /m);
      expect(postgresServersOf(fresh)).toEqual([]);
    } finally {
      await network?.stop('SIGKILL');
      rmSync(fresh, { recursive: true, force: true });
    }
  }, 180_000);

  it('recovers by itself after a killed run, and stops with its Postgres servers when its terminal closes', async () => {
    const killed = new EmbeddedNetwork(home, ports.health);
    await killed.running();
    await killed.stop('SIGKILL');
    const network = new EmbeddedNetwork(home, ports.health, {}, { ownGroup: true });
    await network.running();
    await roundTrip();
    expect(postgresServersOf(home)).not.toEqual([]);
    // A closing terminal hangs up its whole foreground process group, and the hang-up may come again at once
    // (the shell passes it on): no reason to cut the stop short. Not much later: a stop takes about 100 ms
    // here, and once it is over and Node tears down, a hang-up ends the process by its default action.
    const stopped = network.stop('SIGHUP', { group: true });
    await new Promise((resolve) => setTimeout(resolve, 10));
    network.stop('SIGHUP', { group: true }).catch(() => undefined);
    expect(await stopped).toBe(0);
    expect(postgresServersOf(home)).toEqual([]);
  });

  it('gives up on a close that hangs after 90 s: says which, exits 1 and stops its Postgres servers', async () => {
    const preload = path.join(__dirname, 'support/hanging-close.js');
    const network = new EmbeddedNetwork(home, ports.health, { NODE_OPTIONS: `--require ${preload}` });
    try {
      await network.running();
      const signalled = Date.now();
      // Before: the launcher waited for that close until a second Ctrl-C, with nothing said.
      const stillRunning = new Promise((resolve) =>
        setTimeout(() => resolve('still running'), 150_000).unref(),
      );
      network.stop('SIGINT').catch(() => undefined);
      expect(await Promise.race([network.exit(), stillRunning])).toBe(1);
      expect(Date.now() - signalled).toBeGreaterThanOrEqual(90_000);
      // The gateway of the site started last is the first to close.
      expect(network.output).toContain(
        'not stopped within 90 s, still waiting for api-gateway kme-west: exiting',
      );
      // Sent a fast shutdown as the launcher exits, they end a moment later.
      await eventually(
        async () => postgresServersOf(home).length === 0,
        15_000,
        'the Postgres servers stopped',
      );
    } finally {
      await network.stop('SIGKILL');
    }
  }, 300_000);

  it('lets the slave fetch, after a restart, keys whose assignment a killed run had not applied yet', async () => {
    const killed = new EmbeddedNetwork(home, ports.health);
    await killed.running();
    const west = await siteDatabase(home, 'kme-west');
    let network: EmbeddedNetwork | undefined;
    try {
      // kme-west's replication cannot record keys while this lock is held: Alice's assignment stays on the
      // in-process bus, where the kill below loses it. The lock outlives the kill: the killed run's Postgres
      // runs on until the restart stops it, which ends this session too, so the blocked insert never commits.
      await west.query('BEGIN');
      await west.query('LOCK TABLE keys IN SHARE MODE');
      const alice = client('sae-alice', ports.east);
      let sent: readonly { key_ID: string; key: string }[];
      try {
        sent = (await alice.encKeys('sae-bob', { number: 2 })).keys;
      } finally {
        alice.close();
      }
      await killed.stop('SIGKILL');
      network = new EmbeddedNetwork(home, ports.health);
      await network.running();
      expect(network.output).toMatch(/sending again [1-9]\d* message\(s\)/);
      const bob = client('sae-bob', ports.west);
      try {
        const fetched = await bob.decKeys(
          'sae-alice',
          sent.map((key) => key.key_ID),
        );
        expect(fetched.keys).toEqual(sent.map(({ key_ID, key }) => expect.objectContaining({ key_ID, key })));
      } finally {
        bob.close();
      }
    } finally {
      await west.end().catch(() => undefined);
      await killed.stop('SIGKILL');
      if (network !== undefined) expect(await network.stop('SIGTERM')).toBe(0);
    }
  }, 180_000);

  // The likeliest moment for a Ctrl-C: the start takes up to half a minute. Stopping then ran twice at once, the
  // second reversing the apps' order under the first, and ended with a stack trace.
  it.each([
    ['as it begins', 'starting DQKD in'],
    ['while it fills the pools', 'filling the pools of every link'],
  ])(
    'stops cleanly on Ctrl-C %s, its Postgres servers with it',
    async (_when, line) => {
      const fresh = mkdtempSync(path.join(tmpdir(), 'dqkd-embedded-'));
      let network: EmbeddedNetwork | undefined;
      try {
        const freshPorts = await prepareHome(fresh);
        network = new EmbeddedNetwork(fresh, freshPorts.health, {}, { ownGroup: true });
        await eventually(async () => network!.output.includes(line), 120_000, line);
        expect(await network.stop('SIGINT', { group: true })).toBe(0);
        expect(network.output).not.toMatch(/\n\s+at /);
        expect(network.output).not.toContain('ETSI GS QKD 014 API');
        expect(network.output).toMatch(/stopping DQKD…\nstopped\n/);
        expect(postgresServersOf(fresh)).toEqual([]);
      } finally {
        await network?.stop('SIGKILL');
        rmSync(fresh, { recursive: true, force: true });
      }
    },
    180_000,
  );

  it('recovers by itself after a run killed while it filled the pools', async () => {
    const fresh = mkdtempSync(path.join(tmpdir(), 'dqkd-embedded-'));
    // Every launcher this test starts: killed at the end whatever happened, so none outlives a failure.
    const started: EmbeddedNetwork[] = [];
    const start = (healthPort: number, env?: Record<string, string>) => {
      const network = new EmbeddedNetwork(fresh, healthPort, env);
      started.push(network);
      return network;
    };
    try {
      const freshPorts = await prepareHome(fresh);
      const killed = start(freshPorts.health, { LOG_LEVEL: 'info' });
      // Killed once blocks were announced, before their target confirmed them all: the in-process bus loses
      // what it held, while the ledger keeps those blocks pending.
      await eventually(
        async () => /block\(s\) sent for confirmation/.test(killed.output),
        120_000,
        'blocks announced',
      );
      await killed.stop('SIGKILL');
      // Health port 0: any free port for every app.
      const network = start(0);
      await network.running(60_000);
      // What it does is said on stdout at the default log level, and the demo line finds this home.
      expect(network.output).toContain('filling the pools of every link');
      expect(network.output).toContain(`npx dqkd demo --home ${fresh}`);
      const ports = network.metricsEndpoints().map(({ url }) => Number(new URL(url).port));
      expect(ports).toHaveLength(11);
      expect(new Set(ports).size).toBe(11);
      expect(Math.min(...ports)).toBeGreaterThan(1023);
      // A second start while this one runs says which port is taken, without a stack trace, and exits by
      // itself (a signal sent while it winds down would decide its exit code instead).
      const second = start(0);
      const stillRunning = new Promise((resolve) =>
        setTimeout(() => resolve('still running'), 60_000).unref(),
      );
      expect(await Promise.race([second.exit(), stillRunning])).toBe(1);
      expect(second.output).toContain('is in use');
      expect(second.output).not.toMatch(/\n\s+at /);
      expect(await network.stop('SIGTERM')).toBe(0);
    } finally {
      await Promise.all(started.map((network) => network.stop('SIGKILL')));
      rmSync(fresh, { recursive: true, force: true });
    }
  }, 240_000);
});
