import * as path from 'node:path';

import { z } from 'zod';

import type { ConfigIssue } from '../config-error';
import { checkBaseUrl } from '../url';
import { httpEnv, runtimeEnv, type LogLevel } from './env-schema';
import { environmentParser, type Environment, type HttpEnv } from './process-env';

/** Where an entropy server's pools get their bytes; `xor` combines two independent sources. */
export type RandomSourceSpec =
  | { readonly kind: 'csprng' }
  | { readonly kind: 'qrypt'; readonly url: string; readonly tokenFile: string }
  | { readonly kind: 'anu'; readonly url: string; readonly keyFile: string }
  | { readonly kind: 'device'; readonly path: string }
  | { readonly kind: 'xor'; readonly sources: readonly [RandomSourceSpec, RandomSourceSpec] };

export type RandomSourceKind = Exclude<RandomSourceSpec['kind'], 'xor'>;

export const RANDOM_SOURCE_KINDS: readonly RandomSourceKind[] = ['csprng', 'qrypt', 'anu', 'device'];

export interface PoolEnv {
  /** Bytes of one pool. */
  readonly bytes: number;
  /** From a pool's creation to its shredding; at most one hour. */
  readonly lifetimeMs: number;
  /** Pools with unleased bytes kept filled ahead of demand. */
  readonly ready: number;
  /** Pool bytes held at most; beyond them no pool is filled, and leases are refused until some are shredded. */
  readonly memoryBytes: number;
  /** Bytes one KME may lease a second; beyond them its leases are refused as `rate-limited`. */
  readonly leaseRateBytes: number;
}

/** An entropy server's environment, validated; file paths are absolute. */
export interface EntropyServerEnv {
  readonly serverId: string;
  readonly networkFile: string;
  readonly home: string;
  readonly pkiDir: string;
  readonly logLevel: LogLevel;
  /** `apiPort` defaults to the port of this server's URL in the network file. */
  readonly http: HttpEnv;
  /** Its own sealing identity (`$DQKD_HOME/pki/<id>.sealing.json` by default): the key it signs samples with. */
  readonly sealingFile: string;
  readonly source: RandomSourceSpec;
  readonly pool: PoolEnv;
}

export type ParsedEntropyServerEnv = Omit<EntropyServerEnv, 'http'> & {
  readonly http: Omit<HttpEnv, 'apiPort'> & { apiPort?: number };
};

const MIB = 1024 * 1024;

const integer = (min: number, max: number, what: string) =>
  z
    .string()
    .regex(/^\d{1,10}$/, `must be ${what} from ${min} to ${max}`)
    .transform(Number)
    .refine((value) => value >= min && value <= max, `must be ${what} from ${min} to ${max}`);

// Plain http only on loopback, where the tests run their stand-in QRNG services.
const serviceBaseUrl = z.string().superRefine((text, context) => {
  const checked = checkBaseUrl(text, { protocols: ['https:'], loopbackProtocols: ['http:'] });
  if ('problem' in checked) context.addIssue({ code: 'custom', message: checked.problem });
});

const sourceList = z
  .string()
  .regex(
    /^[a-z]+(?:\+[a-z]+)?$/,
    `must be one source or two joined by "+" (XOR), each one of ${RANDOM_SOURCE_KINDS.join(', ')}`,
  )
  .transform((text) => text.split('+'))
  .superRefine((kinds, context) => {
    for (const kind of kinds) {
      if (!RANDOM_SOURCE_KINDS.includes(kind as RandomSourceKind)) {
        context.addIssue({
          code: 'custom',
          message: `unknown source "${kind}" (one of ${RANDOM_SOURCE_KINDS.join(', ')})`,
        });
      }
    }
    if (kinds.length === 2 && kinds[0] === kinds[1]) {
      context.addIssue({ code: 'custom', message: 'XOR needs two different sources' });
    }
  });

export const entropyServerSiteEnv = z.object({
  ENTROPY_SERVER_ID: z.string(),
  DQKD_NETWORK_FILE: z.string(),
  ENTROPY_SEALING_FILE: z.string().optional(),
});

export const entropySourceEnv = z
  .object({
    ENTROPY_SOURCE: sourceList.default(['csprng']),
    ENTROPY_QRYPT_URL: serviceBaseUrl.optional(),
    ENTROPY_QRYPT_TOKEN_FILE: z.string().optional(),
    ENTROPY_ANU_URL: serviceBaseUrl.optional(),
    ENTROPY_ANU_KEY_FILE: z.string().optional(),
    ENTROPY_DEVICE: z.string().default('/dev/hwrng'),
  })
  .superRefine((env, context) => {
    const needs = (kind: RandomSourceKind, names: readonly (keyof typeof env)[]) => {
      if (!env.ENTROPY_SOURCE.includes(kind)) return;
      for (const name of names.filter((each) => env[each] === undefined)) {
        context.addIssue({ code: 'custom', path: [name], message: `required with ENTROPY_SOURCE ${kind}` });
      }
    };
    needs('qrypt', ['ENTROPY_QRYPT_URL', 'ENTROPY_QRYPT_TOKEN_FILE']);
    needs('anu', ['ENTROPY_ANU_URL', 'ENTROPY_ANU_KEY_FILE']);
  });

export const poolEnv = z
  .object({
    ENTROPY_POOL_BYTES: integer(4096, 256 * MIB, 'a byte count').default(MIB),
    // DESIGN: samples are shredded within the hour.
    ENTROPY_POOL_SECONDS: integer(1, 3600, 'a number of seconds').default(3600),
    ENTROPY_POOLS_READY: integer(1, 64, 'a pool count').default(2),
    // What a KME that leases without ever letting its samples be read twice can make the server hold.
    ENTROPY_POOL_MEMORY_BYTES: integer(4096, 64 * 1024 * MIB, 'a byte count').default(256 * MIB),
    // How fast one KME may take what the source gives, so that one leasing samples it lets expire cannot starve
    // the others' links. Unset: half of the most the server refills (see defaultLeaseRate below).
    ENTROPY_LEASE_RATE_BYTES: integer(1024, 64 * 1024 * MIB, 'a byte count a second').optional(),
  })
  .superRefine((pool, context) => {
    if (pool.ENTROPY_POOL_MEMORY_BYTES < pool.ENTROPY_POOL_BYTES * pool.ENTROPY_POOLS_READY) {
      context.addIssue({
        code: 'custom',
        path: ['ENTROPY_POOL_MEMORY_BYTES'],
        message: 'must hold at least ENTROPY_POOLS_READY pools of ENTROPY_POOL_BYTES',
      });
    }
  });

/** The variables naming files an entropy server must be able to read at start-up. */
export const ENTROPY_FILE_VARIABLES = [
  'ENTROPY_SEALING_FILE',
  'ENTROPY_QRYPT_TOKEN_FILE',
  'ENTROPY_ANU_KEY_FILE',
  'DQKD_TLS_CERT_FILE',
  'DQKD_TLS_KEY_FILE',
  'DQKD_TLS_CA_FILE',
] as const;

export function parseEntropyServerEnv(
  env: Environment,
  cwd: string,
): { readonly env?: ParsedEntropyServerEnv; readonly issues: readonly ConfigIssue[] } {
  const { parse, issues } = environmentParser(env);
  const site = parse(entropyServerSiteEnv);
  const runtime = parse(runtimeEnv);
  const http = parse(httpEnv);
  const sources = parse(entropySourceEnv);
  const pool = parse(poolEnv);
  if (!site || !runtime || !http || !sources || !pool) return { issues };

  const file = (value: string) => path.resolve(cwd, value);
  const home = path.resolve(cwd, runtime.DQKD_HOME);
  const pkiDir = path.join(home, 'pki');
  const single = (kind: string): RandomSourceSpec => {
    switch (kind) {
      case 'qrypt':
        return {
          kind,
          url: sources.ENTROPY_QRYPT_URL as string,
          tokenFile: file(sources.ENTROPY_QRYPT_TOKEN_FILE as string),
        };
      case 'anu':
        return {
          kind,
          url: sources.ENTROPY_ANU_URL as string,
          keyFile: file(sources.ENTROPY_ANU_KEY_FILE as string),
        };
      case 'device':
        return { kind, path: file(sources.ENTROPY_DEVICE) };
      default:
        return { kind: 'csprng' };
    }
  };
  const [first, second] = sources.ENTROPY_SOURCE;
  return {
    issues,
    env: {
      serverId: site.ENTROPY_SERVER_ID,
      networkFile: file(site.DQKD_NETWORK_FILE),
      home,
      pkiDir,
      logLevel: runtime.LOG_LEVEL,
      http: {
        listenHost: http.DQKD_LISTEN_HOST,
        apiPort: http.DQKD_API_PORT,
        healthPort: http.DQKD_HEALTH_PORT,
        tls:
          http.DQKD_TLS_CERT_FILE && http.DQKD_TLS_KEY_FILE
            ? {
                certFile: file(http.DQKD_TLS_CERT_FILE),
                keyFile: file(http.DQKD_TLS_KEY_FILE),
                caFile: http.DQKD_TLS_CA_FILE === undefined ? undefined : file(http.DQKD_TLS_CA_FILE),
              }
            : undefined,
      },
      sealingFile: site.ENTROPY_SEALING_FILE
        ? file(site.ENTROPY_SEALING_FILE)
        : path.join(pkiDir, `${site.ENTROPY_SERVER_ID}.sealing.json`),
      source: second ? { kind: 'xor', sources: [single(first), single(second)] } : single(first),
      pool: {
        bytes: pool.ENTROPY_POOL_BYTES,
        lifetimeMs: pool.ENTROPY_POOL_SECONDS * 1000,
        ready: pool.ENTROPY_POOLS_READY,
        memoryBytes: pool.ENTROPY_POOL_MEMORY_BYTES,
        leaseRateBytes: pool.ENTROPY_LEASE_RATE_BYTES ?? defaultLeaseRate(pool.ENTROPY_POOL_BYTES),
      },
    },
  };
}

/**
 * Half of the most a server refills: one pool each tick of its pool keeper, four a second. A real source may
 * refill slower; its operator sets ENTROPY_LEASE_RATE_BYTES to its share.
 */
function defaultLeaseRate(poolBytes: number): number {
  return 2 * poolBytes;
}
