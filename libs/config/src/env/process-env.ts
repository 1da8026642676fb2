import * as path from 'node:path';

import type { z } from 'zod';

import { ENVIRONMENT, type ConfigIssue } from '../config-error';
import { schemaIssues } from '../zod-issues';
import {
  databaseEnv,
  entropyClientEnv,
  httpEnv,
  natsEnv,
  runtimeEnv,
  siteEnv,
  type LogLevel,
} from './env-schema';
import { KekSource } from './kek-source';

export interface DatabaseEnv {
  /** Unset: the site runs an embedded Postgres under DQKD_HOME. */
  readonly url: string | undefined;
  /** Required with `url`; optional for the embedded default. */
  readonly kek: KekSource | undefined;
  /** Run ledger migrations at start-up. */
  readonly migrate: boolean;
}

export interface NatsEnv {
  /** Prefix of every cross-site subject and stream name (DQKD_SUBJECT_PREFIX, default `dqkd`). */
  readonly subjectPrefix: string;
  /** Copies JetStream keeps of each of the site's streams (DQKD_NATS_STREAM_REPLICAS). */
  readonly streamReplicas: number;
  /** Unset: the in-process bus. */
  readonly servers: readonly string[] | undefined;
  readonly credsFile: string | undefined;
  readonly tls:
    { readonly caFile?: string; readonly certFile?: string; readonly keyFile?: string } | undefined;
}

export interface HttpEnv {
  /** Address the API and the health/metrics ports bind to (default 127.0.0.1). */
  readonly listenHost: string;
  /** HTTPS port of the ETSI API; by default the port of this KME's api_url. */
  readonly apiPort: number;
  /** Plain-HTTP port for health probes and metrics. */
  readonly healthPort: number;
  /** Unset: the development PKI under DQKD_HOME/pki. */
  readonly tls: { readonly certFile: string; readonly keyFile: string; readonly caFile?: string } | undefined;
}

/** This process's environment, validated; file paths are absolute. */
export interface ProcessEnv {
  readonly kmeId: string;
  readonly networkFile: string;
  readonly home: string;
  readonly pkiDir: string;
  readonly logLevel: LogLevel;
  readonly database: DatabaseEnv;
  readonly nats: NatsEnv;
  readonly http: HttpEnv;
  /** The CA of the entropy servers' certificates (DQKD_ENTROPY_CA_FILE); else the API's CA (see HttpEnv). */
  readonly entropyCaFile: string | undefined;
}

/** The environment before the network file is read: the API port may still default to the KME's. */
export type ParsedEnv = Omit<ProcessEnv, 'http'> & {
  readonly http: Omit<HttpEnv, 'apiPort'> & { apiPort?: number };
};

export type Environment = Readonly<Record<string, string | undefined>>;

/** An empty variable counts as unset, as compose files and Kubernetes manifests often leave `FOO=` behind. */
export function setVariables(env: Environment): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env)
      .filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1].trim() !== '')
      .map(([name, value]) => [name, value.trim()]),
  );
}

/**
 * Parses each concern's variables independently with `parse`, collecting every issue in `issues`, so
 * one run reports every bad variable.
 */
export function environmentParser(env: Environment): {
  readonly parse: <T extends z.ZodType>(schema: T) => z.output<T> | undefined;
  readonly issues: ConfigIssue[];
} {
  const vars = setVariables(env);
  const issues: ConfigIssue[] = [];
  const parse = <T extends z.ZodType>(schema: T): z.output<T> | undefined => {
    const result = schema.safeParse(vars, { reportInput: true });
    if (result.success) return result.data;
    issues.push(
      ...schemaIssues(result.error, 'required but not set').map((issue) => ({
        source: ENVIRONMENT,
        path: issue.path.map(String).join('.'),
        message: issue.message,
      })),
    );
    return undefined;
  };
  return { parse, issues };
}

export function parseProcessEnv(
  env: Environment,
  cwd: string,
): { readonly env?: ParsedEnv; readonly issues: readonly ConfigIssue[] } {
  const { parse, issues } = environmentParser(env);
  const site = parse(siteEnv);
  const runtime = parse(runtimeEnv);
  const database = parse(databaseEnv);
  const nats = parse(natsEnv);
  const http = parse(httpEnv);
  const entropyClient = parse(entropyClientEnv);
  if (!site || !runtime || !database || !nats || !http || !entropyClient) return { issues };

  const file = (value: string | undefined) => (value === undefined ? undefined : path.resolve(cwd, value));
  const home = path.resolve(cwd, runtime.DQKD_HOME);
  const natsTls = [nats.NATS_TLS_CA_FILE, nats.NATS_TLS_CERT_FILE, nats.NATS_TLS_KEY_FILE].some(Boolean);
  const kekFile = file(database.DQKD_KEK_FILE);
  return {
    issues,
    env: {
      kmeId: site.KME_ID,
      networkFile: path.resolve(cwd, site.DQKD_NETWORK_FILE),
      home,
      pkiDir: path.join(home, 'pki'),
      logLevel: runtime.LOG_LEVEL,
      database: {
        url: database.DATABASE_URL,
        kek: kekFile
          ? KekSource.fromFile(kekFile)
          : database.DQKD_KEK === undefined
            ? undefined
            : KekSource.inline(database.DQKD_KEK),
        migrate: database.DQKD_MIGRATE === 'true',
      },
      nats: {
        subjectPrefix: nats.DQKD_SUBJECT_PREFIX,
        streamReplicas: nats.DQKD_NATS_STREAM_REPLICAS,
        servers: nats.NATS_URL?.split(',').map((server) => server.trim()),
        credsFile: file(nats.NATS_CREDS_FILE),
        tls: natsTls
          ? {
              caFile: file(nats.NATS_TLS_CA_FILE),
              certFile: file(nats.NATS_TLS_CERT_FILE),
              keyFile: file(nats.NATS_TLS_KEY_FILE),
            }
          : undefined,
      },
      http: {
        listenHost: http.DQKD_LISTEN_HOST,
        apiPort: http.DQKD_API_PORT,
        healthPort: http.DQKD_HEALTH_PORT,
        tls:
          http.DQKD_TLS_CERT_FILE && http.DQKD_TLS_KEY_FILE
            ? {
                certFile: path.resolve(cwd, http.DQKD_TLS_CERT_FILE),
                keyFile: path.resolve(cwd, http.DQKD_TLS_KEY_FILE),
                caFile: file(http.DQKD_TLS_CA_FILE),
              }
            : undefined,
      },
      entropyCaFile: file(entropyClient.DQKD_ENTROPY_CA_FILE),
    },
  };
}
