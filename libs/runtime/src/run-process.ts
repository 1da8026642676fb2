import {
  ConfigError,
  EX_CONFIG,
  exitOnConfigError,
  loadProcessConfig,
  type LogLevel,
  type ProcessConfig,
} from '@dqkd/config';
import { Logger, type DynamicModule, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';

import { createJsonLogger, wasLogged } from './logging/json-logger';
import { withLogContext } from './logging/log-context';

/** The part of any process's configuration that starting it needs. */
export interface RunnableConfig {
  readonly env: {
    readonly logLevel: LogLevel;
    readonly http: { readonly listenHost: string; readonly healthPort: number };
  };
}

/** What differs between DQKD's processes: their name, their configuration and their root module. */
export interface ProcessSpec<Config extends RunnableConfig = ProcessConfig> {
  /** The app's name as in `apps/`, e.g. `ttl-reaper`. */
  readonly app: string;
  /** Must import HealthModule: its plain-HTTP port is what every process serves. */
  readonly rootModule: (config: Config) => DynamicModule;
  /**
   * Validates the environment (throwing a ConfigError). KME processes leave it out and get
   * `loadProcessConfig`; a process that is not a KME, such as an entropy server, brings its own.
   */
  readonly loadConfig?: (env: NodeJS.ProcessEnv) => Config;
  /** Whose process this is, for the start-up line and every log line; the KME_ID by default. */
  readonly owner?: (config: Config) => string;
  /** The log field that names the owner: `kme` by default, `server` for an entropy server. */
  readonly ownerField?: string;
}

/** How long a stop may take before the process exits regardless (Kubernetes' grace is 30 s). */
const STOP_DEADLINE_MS = 20_000;

/**
 * Creates one app from its environment: validates the configuration (throwing a ConfigError before
 * anything connects), creates the Nest application and serves health probes on the plain-HTTP port.
 * The embedded default calls it once per app and site, all in one process.
 */
export async function startApp<Config extends RunnableConfig = ProcessConfig>(
  spec: ProcessSpec<Config>,
  env: NodeJS.ProcessEnv,
): Promise<INestApplication> {
  return (await started(spec, env)).app;
}

/**
 * startApp, with the fields every log line of the app carries. With `exitOnFailure` (a process of its own),
 * an app that fails to start has its error logged and the process exits: 78 (EX_CONFIG) for a ConfigError met
 * while starting (a keyring or certificate that does not parse, a ledger short of migrations), as for one
 * found before, 1 for anything else. Without it, a failure to create the app or to listen is the caller's
 * (the embedded launcher stops every app).
 */
async function started<Config extends RunnableConfig>(
  spec: ProcessSpec<Config>,
  env: NodeJS.ProcessEnv,
  { exitOnFailure = false }: { exitOnFailure?: boolean } = {},
): Promise<{ app: INestApplication; fields: Record<string, string> }> {
  const config = spec.loadConfig ? spec.loadConfig(env) : (loadProcessConfig(env) as unknown as Config);
  const owner = spec.owner ? spec.owner(config) : (config as unknown as ProcessConfig).env.kmeId;
  const fields = { app: spec.app, [spec.ownerField ?? 'kme']: owner };
  const logger = new Logger(spec.app);
  const exit = (error: unknown): never => {
    if (!exitOnFailure) throw error;
    if (!wasLogged(error)) logger.error(error);
    process.exit(error instanceof ConfigError ? EX_CONFIG : 1);
  };
  // Everything the app starts (servers, timers, consumers) inherits these fields, so in the embedded process
  // every line still says which app of which site wrote it.
  const app = await withLogContext(fields, async () => {
    const app = await NestFactory.create(spec.rootModule(config), {
      logger: createJsonLogger(config.env.logLevel),
      // No route reads a parsed body: health and metrics are GETs, and the ETSI routes read the raw bytes
      // themselves (any Content-Type is JSON there). Express's parsers would only cost time on every request.
      bodyParser: false,
      // Never left to abort: Nest would end the process whatever the error (process.abort() in Nest 12),
      // where a process of its own exits 78 for a ConfigError (see exit), and the embedded launcher stops
      // every app it started, quietly when a Ctrl-C stopped the database of the app it was creating.
      abortOnError: false,
    }).catch(exit);
    const { listenHost, healthPort } = config.env.http;
    // Lifecycle hooks run here (the gateway reads its certificate as it starts to listen).
    await app.listen(healthPort, listenHost).catch(async (error: unknown) => {
      // Its hooks ran (the gateway's ETSI listener, connections, timers): a caller left with the failure
      // closes what it started, and what this app started would keep its process running.
      if (!exitOnFailure) await app.close().catch(() => undefined);
      return exit(error);
    });
    logger.log(`${spec.app} of ${owner} is running; health on ${await app.getUrl()}/health/ready`);
    return app;
  });
  return { app, fields };
}

/**
 * Runs one DQKD process: startApp, where a bad configuration exits 78 with one line per problem (on stderr
 * when found before the app starts, as a log line when found while it starts); then SIGTERM or SIGINT closes
 * the application, so in-flight work, NATS and the ledger shut down cleanly, and the process ends with
 * code 0.
 */
export function runProcess<Config extends RunnableConfig = ProcessConfig>(
  spec: ProcessSpec<Config>,
  env: NodeJS.ProcessEnv = process.env,
): Promise<INestApplication> {
  return exitOnConfigError(async () => {
    const { app, fields } = await started(spec, env, { exitOnFailure: true });
    stopOnSignals(app, new Logger(spec.app), fields);
    return app;
  });
}

function stopOnSignals(app: INestApplication, logger: Logger, fields: Record<string, string>): void {
  let stopping = false;
  // A signal's listener runs outside the context the app started in: its lines get the app's fields here.
  const stop = (signal: NodeJS.Signals) =>
    withLogContext(fields, () => {
      if (stopping) return;
      stopping = true;
      logger.log(`stopping on ${signal}`);
      // Unless the stop finishes: a shutdown step that waits on something nothing will ever settle lets the
      // event loop empty before the deadline below, and the process would end as if it had stopped cleanly.
      process.exitCode = 1;
      let stopped = false;
      process.once('beforeExit', () => {
        if (!stopped) logger.error('the stop never finished: a shutdown step waits on nothing left running');
      });
      setTimeout(() => {
        logger.error(`still stopping after ${STOP_DEADLINE_MS} ms; exiting`);
        process.exit(1);
      }, STOP_DEADLINE_MS).unref();
      app.close().then(
        () => {
          stopped = true;
          logger.log('stopped');
          process.exitCode = 0;
        },
        (error: unknown) => {
          logger.error(`stop failed: ${error instanceof Error ? error.message : String(error)}`);
          process.exitCode = 1;
        },
      );
    });
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
