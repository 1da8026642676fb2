import type { NodeConnectionOptions } from '@nats-io/transport-node';

import { urlCredentials } from '@dqkd/config';

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
    // Without the credentials, which are passed as such below.
    servers: urls.map((url) => `${url.protocol}//${url.host}`),
    maxReconnectAttempts,
    reconnectTimeWait: reconnectTimeWaitMs,
    timeout: requestTimeoutMs,
    ...(options.name === undefined ? {} : { name: options.name }),
    // A tls:// URL asks for TLS, which the NATS client otherwise uses only when the server offers it: whoever
    // sits in between could offer none and read the login. Without files, the system's CAs check the server.
    ...(options.tls !== undefined
      ? { tls: { ...options.tls } }
      : urls.some((url) => url.protocol === 'tls:')
        ? { tls: {} }
        : {}),
  };
  // The NATS client ignores credentials in a server URL and would connect without any.
  const inUrls = urlCredentials(urls);
  if ('problem' in inUrls) throw new BusConfigError('servers', inUrls.problem);
  if (inUrls.auth !== undefined && options.auth !== undefined) {
    throw new BusConfigError('auth', 'give credentials in the URL or as auth, not both');
  }
  const credsFile = applyAuth(connection, options.auth ?? inUrls.auth);
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
