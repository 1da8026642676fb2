import { z } from 'zod';

import { checkServiceUrl, urlCredentials } from '../url';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const DEFAULT_HEALTH_PORT = 9464;

const port = z
  .string()
  .regex(/^\d{1,5}$/, 'must be a port number from 0 to 65535 (0 = any free port)')
  .transform(Number)
  .refine((value) => value <= 65535, 'must be a port number from 0 to 65535 (0 = any free port)');

// The URLs may hold passwords, so messages describe the problem without echoing the value.
function serviceUrls(protocols: readonly string[], requireHost: boolean, separator?: string) {
  return z.string().superRefine((text, context) => {
    const entries = separator ? text.split(separator).map((entry) => entry.trim()) : [text];
    entries.forEach((entry, index) => {
      const problem = checkServiceUrl(entry, protocols, requireHost);
      if (problem) {
        const message = entries.length > 1 ? `entry ${index + 1}: ${problem}` : problem;
        context.addIssue({ code: 'custom', message });
      }
    });
  });
}

/** NATS_URL's credentials, as the bus will read them (see urlCredentials); at most one way to log in. */
function natsCredentialIssues(context: z.RefinementCtx, natsUrl?: string, credsFile?: string): void {
  const urls = (natsUrl ?? '').split(',').flatMap((entry) => {
    const url = URL.canParse(entry.trim()) ? new URL(entry.trim()) : undefined;
    return url === undefined ? [] : [url];
  });
  const credentials = urlCredentials(urls);
  if ('problem' in credentials) {
    context.addIssue({ code: 'custom', path: ['NATS_URL'], message: credentials.problem });
  } else if (credentials.auth !== undefined && credsFile !== undefined) {
    context.addIssue({
      code: 'custom',
      path: ['NATS_CREDS_FILE'],
      message: 'is set but NATS_URL carries credentials too: give one of them',
    });
  }
}

/** Set together or not at all. */
function pairIssues(context: z.RefinementCtx, values: Record<string, unknown>, a: string, b: string): void {
  if ((values[a] === undefined) !== (values[b] === undefined)) {
    const [set, unset] = values[a] === undefined ? [b, a] : [a, b];
    context.addIssue({ code: 'custom', path: [unset], message: `must be set together with ${set}` });
  }
}

export const siteEnv = z.object({
  KME_ID: z.string(),
  DQKD_NETWORK_FILE: z.string(),
});

/**
 * The CA the entropy servers' certificates are checked against, when it is not the one of DQKD_TLS_CA_FILE:
 * that one also admits SAEs, so an entropy server operator's CA in it could issue an SAE's certificate.
 */
export const entropyClientEnv = z.object({
  DQKD_ENTROPY_CA_FILE: z.string().optional(),
});

export const runtimeEnv = z.object({
  DQKD_HOME: z.string().default('.dqkd'),
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
});

export const databaseEnv = z
  .object({
    DATABASE_URL: serviceUrls(['postgres:', 'postgresql:'], false).optional(),
    DQKD_KEK: z.string().optional(),
    DQKD_KEK_FILE: z.string().optional(),
    DQKD_MIGRATE: z.enum(['true', 'false']).default('false'),
  })
  .superRefine((env, context) => {
    if (env.DQKD_KEK !== undefined && env.DQKD_KEK_FILE !== undefined) {
      context.addIssue({
        code: 'custom',
        path: ['DQKD_KEK'],
        message: 'set only one of DQKD_KEK and DQKD_KEK_FILE',
      });
    } else if (
      env.DATABASE_URL !== undefined &&
      env.DQKD_KEK === undefined &&
      env.DQKD_KEK_FILE === undefined
    ) {
      context.addIssue({
        code: 'custom',
        path: ['DQKD_KEK'],
        message: 'DATABASE_URL is set, so DQKD_KEK or DQKD_KEK_FILE must hold the key-encryption keyring',
      });
    }
  });

const natsFiles = ['NATS_CREDS_FILE', 'NATS_TLS_CA_FILE', 'NATS_TLS_CERT_FILE', 'NATS_TLS_KEY_FILE'] as const;

export const natsEnv = z
  .object({
    NATS_URL: serviceUrls(['nats:', 'tls:'], true, ',').optional(),
    // Subjects and streams are named `<prefix>.<kme>…`; test runs sharing one NATS each take their own. No
    // "-": stream names write it as "_" like the separator, so prefix dqkd-kme with KME east would share the
    // streams of prefix dqkd with KME kme-east.
    DQKD_SUBJECT_PREFIX: z
      .string()
      .regex(/^[a-z0-9]+$/, 'must be lower-case letters and digits only')
      .default('dqkd'),
    NATS_CREDS_FILE: z.string().optional(),
    NATS_TLS_CA_FILE: z.string().optional(),
    NATS_TLS_CERT_FILE: z.string().optional(),
    NATS_TLS_KEY_FILE: z.string().optional(),
    // Copies JetStream keeps of each stream: more than one on a NATS cluster, so that losing a node's store
    // loses no assignment in flight (keys a master already has). Every app of a site must give the same.
    DQKD_NATS_STREAM_REPLICAS: z
      .string()
      .regex(/^[1-5]$/, 'must be a number of stream copies from 1 to 5 (at most the NATS cluster size)')
      .transform(Number)
      .default(1),
  })
  .superRefine((env, context) => {
    pairIssues(context, env, 'NATS_TLS_CERT_FILE', 'NATS_TLS_KEY_FILE');
    natsCredentialIssues(context, env.NATS_URL, env.NATS_CREDS_FILE);
    // The in-process bus would silently ignore these, hiding a half-done switch to real NATS.
    if (env.NATS_URL === undefined) {
      for (const name of natsFiles.filter((file) => env[file] !== undefined)) {
        context.addIssue({ code: 'custom', path: [name], message: 'is set but NATS_URL is not' });
      }
    }
  });

// An IP address or a host name; containers set 0.0.0.0 so probes and SAEs can reach the pod.
const listenHost = z
  .string()
  .regex(
    /^(?:[0-9a-fA-F:.]+|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?)$/,
    'must be an IP address or a host name',
  );

export const httpEnv = z
  .object({
    DQKD_LISTEN_HOST: listenHost.default('127.0.0.1'),
    DQKD_API_PORT: port.optional(),
    DQKD_HEALTH_PORT: port.default(DEFAULT_HEALTH_PORT),
    DQKD_TLS_CERT_FILE: z.string().optional(),
    DQKD_TLS_KEY_FILE: z.string().optional(),
    DQKD_TLS_CA_FILE: z.string().optional(),
  })
  .superRefine((env, context) => {
    pairIssues(context, env, 'DQKD_TLS_CERT_FILE', 'DQKD_TLS_KEY_FILE');
    if (env.DQKD_TLS_CA_FILE !== undefined && env.DQKD_TLS_CERT_FILE === undefined) {
      context.addIssue({
        code: 'custom',
        path: ['DQKD_TLS_CA_FILE'],
        message: 'is set but DQKD_TLS_CERT_FILE is not',
      });
    }
    if (
      env.DQKD_API_PORT !== undefined &&
      env.DQKD_API_PORT !== 0 &&
      env.DQKD_API_PORT === env.DQKD_HEALTH_PORT
    ) {
      context.addIssue({
        code: 'custom',
        path: ['DQKD_HEALTH_PORT'],
        message: 'must differ from DQKD_API_PORT',
      });
    }
  });

/** The variables naming files that must be readable at start-up. */
export const FILE_VARIABLES = [
  'DQKD_KEK_FILE',
  ...natsFiles,
  'DQKD_TLS_CERT_FILE',
  'DQKD_TLS_KEY_FILE',
  'DQKD_TLS_CA_FILE',
  'DQKD_ENTROPY_CA_FILE',
] as const;
