import 'reflect-metadata';

import * as path from 'node:path';

import { exitOnConfigError, loadNetworkFile, setVariables, type ProcessConfig } from '@dqkd/config';
import {
  EmbeddedPostgresError,
  ensureKekFile,
  Ledger,
  startEmbeddedPostgres,
  type EmbeddedPostgres,
} from '@dqkd/ledger';
import { ensureDevPki, PkiError } from '@dqkd/pki';
import { startApp, type ProcessSpec, type RunnableConfig } from '@dqkd/runtime';
import type { DynamicModule, INestApplication } from '@nestjs/common';

import { AppModule as GatewayModule } from '@dqkd/api-gateway/dist/app/app.module';
import { AppModule as EntropyServerModule } from '@dqkd/entropy-server/dist/app/app.module';
import { loadEntropyServerSetup } from '@dqkd/entropy-server/dist/app/entropy-server-setup';
import { AppModule as KeyGeneratorModule } from '@dqkd/key-generator/dist/app/app.module';
import { AppModule as ReplicationModule } from '@dqkd/replication/dist/app/app.module';
import { AppModule as TtlReaperModule } from '@dqkd/ttl-reaper/dist/app/app.module';

import { banner } from './banner';
import { assertPortsFree } from './free-ports';
import { ensureNetworkFile } from './network-file';
import { RESEND_WINDOW_MS, resendLost } from './resend-lost';
import { PoolsNotFilledError, waitForPools } from './wait-for-pools';

/** Every port of the embedded default is on the loopback interface. */
const LISTEN_HOST = '127.0.0.1';

/**
 * Health and metrics ports, one per app from DQKD_HEALTH_PORT on (default 19100), away from the ETSI
 * (8443, 9443), NATS and Postgres ports.
 */
const DEFAULT_HEALTH_PORT_BASE = 19100;
/** A stop signal this soon after the first is the same Ctrl-C delivered twice, not a second one. */
const REPEAT_SIGNAL_MS = 1000;
/**
 * How long a stop may take before the launcher gives up on what has not closed and exits. Its bounded steps
 * (a gateway drains for up to 10 s, a key-generator waits for its round, whose entropy requests time out after
 * 10 s, a Postgres server gets 15 s before SIGKILL) take at most about 70 s for the default network's two
 * sites, so only a close that hangs reaches it.
 */
const STOP_LIMIT_MS = 90_000;

interface Running {
  readonly name: string;
  readonly app: INestApplication;
  /** The app's plain-HTTP base URL (health and metrics). */
  readonly url: string;
}

/**
 * The embedded default (`npm start`): the development PKI, one embedded Postgres per site, three
 * entropy servers, and every app of both sites in this one process on the in-process bus. The ETSI
 * ports open only once every link's pool has reached its low watermark.
 */
async function main(): Promise<void> {
  // What the apps publish from here on is on this run's bus: only what earlier runs sent can have been lost.
  const startedAt = Date.now();
  // An empty variable is unset, as for the apps: DQKD_HOME= must not make the working directory the home.
  const variables = setVariables(process.env);
  const home = path.resolve(variables['DQKD_HOME'] ?? '.dqkd');
  const pki = await ensureDevPki({ dir: path.join(home, 'pki') });
  const networkFile = ensureNetworkFile(home);
  const network = loadNetworkFile(networkFile);
  await assertPortsFree(
    LISTEN_HOST,
    network.kmes.map((kme) => Number(new URL(kme.apiUrl).port || 443)),
  );
  // By name, so that a damaged keyring is told with its file.
  const kekFile = ensureKekFile(home);
  const running: Running[] = [];
  /** Each site's Postgres server, by KME ID. */
  const databases = new Map<string, EmbeddedPostgres>();
  const portBase = Number(variables['DQKD_HEALTH_PORT'] ?? DEFAULT_HEALTH_PORT_BASE);
  // 0 asks for any free port, for every app; otherwise the apps take the ports from the base upwards.
  let nextPort = portBase;
  const base = {
    DQKD_HOME: home,
    DQKD_NETWORK_FILE: networkFile,
    LOG_LEVEL: variables['LOG_LEVEL'] ?? 'warn',
    DQKD_LISTEN_HOST: LISTEN_HOST,
  };
  const start = async <Config extends RunnableConfig>(
    name: string,
    spec: ProcessSpec<Config>,
    env: Record<string, string>,
  ) => {
    const app = await startApp(spec, { ...base, ...env, DQKD_HEALTH_PORT: String(nextPort) });
    if (portBase !== 0) nextPort += 1;
    // Started while a stop ran, which no longer looks at the list: closed here.
    if (stopping !== undefined) {
      await app.close().catch(() => undefined);
      throw new Stopped();
    }
    running.push({ name, app, url: await app.getUrl() });
    return app;
  };

  // One stop, whoever asks first (a signal, or a start-up step that fails because the stop closed what it
  // used); the others wait for it. Apps close in the reverse of their start.
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      let closing = '';
      // A close that hangs would keep the launcher running until a second Ctrl-C, with nothing said. It ends
      // as an exit, like a second Ctrl-C, which stops the Postgres servers not stopped yet.
      const limit = setTimeout(() => {
        process.stderr.write(
          `not stopped within ${STOP_LIMIT_MS / 1000} s, still waiting for ${closing}: exiting\n`,
        );
        process.exit(1);
      }, STOP_LIMIT_MS);
      for (const { name, app } of [...running].reverse()) {
        closing = name;
        await app.close().catch(() => undefined);
      }
      for (const [kmeId, database] of databases) {
        closing = `the Postgres server of ${kmeId}`;
        await database.stop().catch(() => undefined);
      }
      clearTimeout(limit);
    })());
  /** Between the steps of the start-up: a signal ends it there. */
  const goOn = () => {
    if (stopping !== undefined) throw new Stopped();
  };
  // A second Ctrl-C while stopping ends the process at once, but as an exit, so that the Postgres servers
  // (in process groups of their own) are stopped with it rather than left running. One Ctrl-C under npm start
  // comes twice, from the terminal and passed on by npm, within milliseconds: a repeat that soon is the same.
  let signalledAt: number | undefined;
  const onSignal = () => {
    if (signalledAt !== undefined) {
      if (Date.now() - signalledAt >= REPEAT_SIGNAL_MS) process.exit(130);
      return;
    }
    signalledAt = Date.now();
    progress('stopping DQKD…');
    void stop().then(() => {
      progress('stopped');
      process.exitCode = 0;
    });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // A closed terminal: stop as on Ctrl-C, where its default would end this process alone and leave the
  // Postgres servers running. The hang-up may come twice (the shell passes it on, the kernel sends its own),
  // which is no call to hurry. Writes to the terminal fail from now on (EIO, or EPIPE), also those of the
  // apps' loggers, which write to the descriptor directly: none of that may end the stop.
  process.on('SIGHUP', () => {
    if (signalledAt !== undefined) return;
    process.stdout.on('error', () => undefined);
    process.stderr.on('error', () => undefined);
    process.on('uncaughtException', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EIO' && error.code !== 'EPIPE') process.exit(1);
    });
    onSignal();
  });

  progress(`starting DQKD in ${home} (the PKI in ${pki.dir})…`);
  try {
    for (const server of network.entropyServers) {
      await start(
        `entropy-server ${server.id}`,
        {
          app: 'entropy-server',
          loadConfig: loadEntropyServerSetup,
          owner: (setup) => setup.server.id,
          ownerField: 'server',
          rootModule: (setup) => EntropyServerModule.register(setup),
        },
        { ENTROPY_SERVER_ID: server.id },
      );
    }
    // Each site's ledger, as its key-generator holds it.
    const ledgers = new Map<string, Ledger>();
    const sites = new Map<string, Record<string, string>>();
    for (const kme of network.kmes) {
      const database = await startEmbeddedPostgres({
        dir: path.join(home, 'postgres'),
        name: kme.id,
        ownProcessGroup: true,
      });
      if (stopping !== undefined) {
        await database.stop().catch(() => undefined);
        throw new Stopped();
      }
      databases.set(kme.id, database);
      const env = {
        KME_ID: kme.id,
        DATABASE_URL: database.url,
        DQKD_KEK_FILE: kekFile,
        DQKD_MIGRATE: 'true',
      };
      sites.set(kme.id, env);
      await start(`replication ${kme.id}`, kmeSpec('replication', ReplicationModule), env);
      const generator = await start(
        `key-generator ${kme.id}`,
        kmeSpec('key-generator', KeyGeneratorModule),
        env,
      );
      ledgers.set(kme.id, generator.get(Ledger));
      await start(`ttl-reaper ${kme.id}`, kmeSpec('ttl-reaper', TtlReaperModule), env);
    }
    // Before the pools are awaited: blocks whose metadata the last run's bus still held would count as the
    // pool, unconfirmed, until burned after the ack timeout, and the pools would not fill in time.
    goOn();
    const resent = await resendLost(ledgers, new Date(startedAt - RESEND_WINDOW_MS), new Date(startedAt));
    if (resent > 0)
      progress(`sending again ${resent} message(s) between the sites that the last run left undelivered`);
    progress('filling the pools of every link before the ETSI ports open…');
    await waitForPools(network, [...ledgers.values()]);
    goOn();
    for (const kme of network.kmes) {
      await start(`api-gateway ${kme.id}`, kmeSpec('api-gateway', GatewayModule), sites.get(kme.id)!);
    }
    process.stdout.write(
      banner(network, pki.dir, running, home === path.resolve('.dqkd') ? undefined : home),
    );
  } catch (error) {
    // After a signal, whatever failed failed because the stop closed it: the stop is what was asked for.
    const signalledStop = stopping !== undefined;
    await stop();
    if (!signalledStop && !(error instanceof Stopped)) throw error;
  }
}

/** The start-up ended because a signal asked the launcher to stop. */
class Stopped extends Error {
  override readonly name = 'Stopped';
}

/** A start-up step on stdout: the apps log warnings only by default, and a start may take half a minute. */
function progress(line: string): void {
  process.stdout.write(`${line}\n`);
}

function kmeSpec(app: string, module: { register(config: ProcessConfig): DynamicModule }): ProcessSpec {
  return { app, rootModule: (config) => module.register(config) };
}

/** A failure the user can act on from its message alone (the files of DQKD_HOME, a stale server, a slow fill). */
function plainFailure(error: unknown): error is Error {
  return (
    error instanceof PkiError ||
    error instanceof EmbeddedPostgresError ||
    error instanceof PoolsNotFilledError
  );
}

void exitOnConfigError(main).catch((error: unknown) => {
  const { code, address, port } = error as { code?: unknown; address?: unknown; port?: unknown };
  const message =
    code === 'EADDRINUSE'
      ? `${String(address)}:${String(port)} is in use: stop the DQKD (npm start) or other program that holds it, ` +
        'or move DQKD: ports in network.yaml of DQKD_HOME, DQKD_HEALTH_PORT for health and metrics'
      : plainFailure(error)
        ? error.message
        : error instanceof Error
          ? (error.stack ?? error.message)
          : String(error);
  // Plain text like the launcher's progress lines: this is the launcher speaking, not one of its apps.
  process.stderr.write(`${message}\n`);
  process.exitCode = 1;
});
