import type { NodeConnectionOptions } from '@nats-io/transport-node';

import { BusConfigError } from '../errors';

/** How to reach a site's NATS; the inter-site link needs TLS and credentials. */
export interface NatsBusOptions {
  /** One URL or several of one cluster, as in NATS_URL. */
  servers: string | string[];
  /** Shown in the server's connection list. */
  name?: string;
  tls?: { caFile?: string; certFile?: string; keyFile?: string };
  auth?: { user: string; pass: string } | { token: string } | { credsFile: string };
  /** JetStream domain of the site's server (e.g. `east`), when sites are joined by leaf nodes. */
  domain?: string;
  /** Default -1 (for ever): a restart of NATS must not end the process. */
  maxReconnectAttempts?: number;
  /** Default 1000. */
  reconnectTimeWaitMs?: number;
  /** Timeout of JetStream API calls, publish acks and ack confirmations (default 5000). */
  requestTimeoutMs?: number;
  /** How long one pull request waits on the server before the next (default 5000, at least 1000). */
  pullExpiresMs?: number;
}

export type ResolvedNatsOptions = Required<
  Pick<NatsBusOptions, 'maxReconnectAttempts' | 'reconnectTimeWaitMs' | 'requestTimeoutMs' | 'pullExpiresMs'>
> & {
  connection: NodeConnectionOptions;
  /** The servers' hosts, for messages. */
  where: string;
  domain?: string;
  credsFile?: string;
};

const schemes = ['nats:', 'tls:'];

export function resolveNatsOptions(options: NatsBusOptions): ResolvedNatsOptions {
  const servers = typeof options.servers === 'string' ? options.servers.split(',') : options.servers;
  if (servers.length === 0) throw new BusConfigError('servers', 'must name at least one NATS server');
  // Messages name servers by position and host only: a URL may carry a password.
  const urls = servers.map((server, i) => {
    const url = URL.canParse(server.trim()) ? new URL(server.trim()) : undefined;
    if (!url || !schemes.includes(url.protocol)) {
      throw new BusConfigError(`servers[${i}]`, 'must be a nats:// or tls:// URL');
    }
    return url;
  });
  const maxReconnectAttempts = options.maxReconnectAttempts ?? -1;
  if (!Number.isSafeInteger(maxReconnectAttempts) || maxReconnectAttempts < -1) {
    throw new BusConfigError('maxReconnectAttempts', 'must be -1 (for ever) or a count');
  }
  const reconnectTimeWaitMs = positive('reconnectTimeWaitMs', options.reconnectTimeWaitMs ?? 1000);
  const requestTimeoutMs = positive('requestTimeoutMs', options.requestTimeoutMs ?? 5000);
  const pullExpiresMs = positive('pullExpiresMs', options.pullExpiresMs ?? 5000);
  if (pullExpiresMs < 1000) throw new BusConfigError('pullExpiresMs', 'must be at least 1000');
  const connection: NodeConnectionOptions = {
    // Without the credentials: the client would not use them (see credentialsOf).
    servers: urls.map((url) => `${url.protocol}//${url.host}`),
    maxReconnectAttempts,
    reconnectTimeWait: reconnectTimeWaitMs,
    timeout: requestTimeoutMs,
    ...(options.name === undefined ? {} : { name: options.name }),
    ...(options.tls === undefined ? {} : { tls: { ...options.tls } }),
  };
  const inUrls = credentialsOf(urls);
  if (inUrls !== undefined && options.auth !== undefined) {
    throw new BusConfigError('auth', 'give credentials in the URL or as auth, not both');
  }
  const credsFile = applyAuth(connection, options.auth ?? inUrls);
  const where = urls.map((u) => u.host).join(',');
  const domain = options.domain;
  if (domain !== undefined && !/^[A-Za-z0-9_-]+$/.test(domain)) {
    throw new BusConfigError('domain', 'must be a single subject token');
  }
  return {
    connection,
    where,
    maxReconnectAttempts,
    reconnectTimeWaitMs,
    requestTimeoutMs,
    pullExpiresMs,
    credsFile,
    ...(domain === undefined ? {} : { domain }),
  };
}

/**
 * The `user:password@` (or `token@`) of NATS_URL, as the deployments give it (nats://<user>:<password>@nats:4222).
 * The NATS client ignores credentials in a server URL and would connect without any. Percent-encoded
 * characters are decoded; every URL of a cluster must carry the same credentials, or none.
 */
function credentialsOf(urls: readonly URL[]): NatsBusOptions['auth'] {
  const given = urls.filter((url) => url.username !== '' || url.password !== '');
  const [first] = given;
  if (first === undefined) return undefined;
  if (
    given.length !== urls.length ||
    given.some((url) => url.username !== first.username || url.password !== first.password)
  ) {
    throw new BusConfigError('servers', 'must all carry the same credentials, or none');
  }
  const decoded = (text: string, field: string) => {
    try {
      return decodeURIComponent(text);
    } catch {
      throw new BusConfigError('servers', `has a ${field} that is not percent-encoded correctly`);
    }
  };
  return first.password === ''
    ? { token: decoded(first.username, 'token') }
    : { user: decoded(first.username, 'user'), pass: decoded(first.password, 'password') };
}

/** Exactly one way to authenticate, or none. */
function applyAuth(connection: NodeConnectionOptions, auth: NatsBusOptions['auth']): string | undefined {
  if (auth === undefined) return undefined;
  const kinds = (['user', 'token', 'credsFile'] as const).filter((k) => k in auth);
  if (kinds.length !== 1) throw new BusConfigError('auth', 'must be one of user/pass, token or credsFile');
  for (const [field, value] of Object.entries(auth)) {
    if (typeof value !== 'string' || value === '') {
      throw new BusConfigError(`auth.${field}`, 'must not be empty');
    }
  }
  if ('user' in auth) Object.assign(connection, { user: auth.user, pass: auth.pass });
  if ('token' in auth) Object.assign(connection, { token: auth.token });
  return 'credsFile' in auth ? auth.credsFile : undefined;
}

function positive(field: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new BusConfigError(field, 'must be a positive integer');
  }
  return value;
}
