import { inspect } from 'node:util';

import { parseProcessEnv, type Environment } from './process-env';

const cwd = '/srv/dqkd';
const minimal = { KME_ID: 'kme-east', DQKD_NETWORK_FILE: 'config/network.yaml' };

function issuesOf(env: Environment): string[] {
  return parseProcessEnv(env, cwd).issues.map((issue) => `${issue.source}: ${issue.path}: ${issue.message}`);
}

function parsed(env: Environment) {
  const result = parseProcessEnv(env, cwd);
  expect(result.issues).toEqual([]);
  return result.env as NonNullable<typeof result.env>;
}

describe('parseProcessEnv', () => {
  describe('with only KME_ID and DQKD_NETWORK_FILE', () => {
    const env = parsed(minimal);

    it('resolves paths against the working directory', () => {
      expect(env.networkFile).toBe('/srv/dqkd/config/network.yaml');
      expect(env.home).toBe('/srv/dqkd/.dqkd');
      expect(env.pkiDir).toBe('/srv/dqkd/.dqkd/pki');
    });

    it('selects the embedded database and the in-process bus', () => {
      expect(env.database).toEqual({ url: undefined, kek: undefined, migrate: false });
      expect(env.nats).toEqual({
        subjectPrefix: 'dqkd',
        streamReplicas: 1,
        servers: undefined,
        credsFile: undefined,
        tls: undefined,
      });
    });

    it('logs at info and serves health on 127.0.0.1:9464, the API port following the network file', () => {
      expect(env.logLevel).toBe('info');
      expect(env.http).toEqual({
        listenHost: '127.0.0.1',
        apiPort: undefined,
        healthPort: 9464,
        tls: undefined,
      });
    });
  });

  it('reads every variable of a site with real services', () => {
    const env = parsed({
      ...minimal,
      DQKD_HOME: '/var/lib/dqkd',
      LOG_LEVEL: 'debug',
      DATABASE_URL: 'postgres://dqkd:secret@db.east:5432/dqkd',
      DQKD_KEK_FILE: '/run/secrets/kek',
      DQKD_MIGRATE: 'true',
      NATS_URL: 'tls://nats-1.east:4222, tls://nats-2.east:4222',
      NATS_CREDS_FILE: '/run/secrets/nats.creds',
      NATS_TLS_CA_FILE: 'pki/ca.pem',
      DQKD_LISTEN_HOST: '0.0.0.0',
      DQKD_API_PORT: '8443',
      DQKD_HEALTH_PORT: '9000',
      DQKD_TLS_CERT_FILE: 'pki/kme-east.pem',
      DQKD_TLS_KEY_FILE: 'pki/kme-east.key',
      DQKD_TLS_CA_FILE: 'pki/ca.pem',
    });
    expect(env).toMatchObject({
      home: '/var/lib/dqkd',
      logLevel: 'debug',
      database: { url: 'postgres://dqkd:secret@db.east:5432/dqkd', migrate: true },
      nats: {
        servers: ['tls://nats-1.east:4222', 'tls://nats-2.east:4222'],
        credsFile: '/run/secrets/nats.creds',
        tls: { caFile: '/srv/dqkd/pki/ca.pem' },
      },
      http: {
        listenHost: '0.0.0.0',
        apiPort: 8443,
        healthPort: 9000,
        tls: {
          certFile: '/srv/dqkd/pki/kme-east.pem',
          keyFile: '/srv/dqkd/pki/kme-east.key',
          caFile: '/srv/dqkd/pki/ca.pem',
        },
      },
    });
    expect(env.database.kek?.toJSON()).toEqual({ variable: 'DQKD_KEK_FILE', file: '/run/secrets/kek' });
  });

  it('keeps an inline keyring out of logs and JSON', () => {
    const env = parsed({ ...minimal, DQKD_KEK: '1:c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTMyYg==' });
    expect(env.database.kek?.read()).toBe('1:c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTMyYg==');
    expect(JSON.stringify(env)).not.toContain('c2VjcmV0');
    expect(inspect(env, { depth: 10 })).not.toContain('c2VjcmV0');
  });

  it("resolves the entropy servers' CA apart from the API's", () => {
    expect(parsed(minimal).entropyCaFile).toBeUndefined();
    expect(parsed({ ...minimal, DQKD_ENTROPY_CA_FILE: 'pki/entropy-ca.pem' }).entropyCaFile).toBe(
      '/srv/dqkd/pki/entropy-ca.pem',
    );
  });

  it('keeps one copy of each stream unless told more', () => {
    expect(parsed(minimal).nats.streamReplicas).toBe(1);
    expect(parsed({ ...minimal, DQKD_NATS_STREAM_REPLICAS: '3' }).nats.streamReplicas).toBe(3);
  });

  it('treats an empty variable as unset', () => {
    expect(parsed({ ...minimal, DATABASE_URL: '', LOG_LEVEL: ' ' }).database.url).toBeUndefined();
  });

  describe('refuses', () => {
    it('a missing KME_ID, naming the variable', () => {
      expect(issuesOf({ DQKD_NETWORK_FILE: 'network.yaml' })).toEqual([
        'environment: KME_ID: required but not set',
      ]);
    });

    it('a missing DQKD_NETWORK_FILE', () => {
      expect(issuesOf({ KME_ID: 'kme-east' })).toEqual([
        'environment: DQKD_NETWORK_FILE: required but not set',
      ]);
    });

    it('DATABASE_URL without a key-encryption keyring', () => {
      expect(issuesOf({ ...minimal, DATABASE_URL: 'postgres://db.east/dqkd' })).toEqual([
        'environment: DQKD_KEK: DATABASE_URL is set, so DQKD_KEK or DQKD_KEK_FILE must hold the key-encryption keyring',
      ]);
    });

    it('both DQKD_KEK and DQKD_KEK_FILE', () => {
      expect(issuesOf({ ...minimal, DQKD_KEK: '1:AAAA', DQKD_KEK_FILE: '/run/secrets/kek' })).toEqual([
        'environment: DQKD_KEK: set only one of DQKD_KEK and DQKD_KEK_FILE',
      ]);
    });

    it('a DATABASE_URL that is not a Postgres URL, without echoing it', () => {
      const issues = issuesOf({
        ...minimal,
        DATABASE_URL: 'mysql://root:hunter2@db/dqkd',
        DQKD_KEK: '1:AAAA',
      });
      expect(issues).toEqual(['environment: DATABASE_URL: must be a postgres:// or postgresql:// URL']);
    });

    it('a DATABASE_URL that is not a URL', () => {
      expect(issuesOf({ ...minimal, DATABASE_URL: 'db.east:5432', DQKD_KEK: '1:AAAA' })).toEqual([
        'environment: DATABASE_URL: must be a postgres:// or postgresql:// URL',
      ]);
      expect(issuesOf({ ...minimal, DATABASE_URL: 'nonsense', DQKD_KEK: '1:AAAA' })).toEqual([
        'environment: DATABASE_URL: not a valid URL',
      ]);
    });

    it('a NATS_URL entry with another scheme or no host, naming the entry', () => {
      expect(issuesOf({ ...minimal, NATS_URL: 'nats://a:4222,ws://b:80' })).toEqual([
        'environment: NATS_URL: entry 2: must be a nats:// or tls:// URL',
      ]);
      expect(issuesOf({ ...minimal, NATS_URL: 'nats://' })).toEqual([
        'environment: NATS_URL: must name a host',
      ]);
    });

    it('NATS_URL credentials the bus could not log in with, or given twice', () => {
      expect(issuesOf({ ...minimal, NATS_URL: 'nats://u:p@a:4222,nats://u:q@b:4222' })).toEqual([
        'environment: NATS_URL: must carry the same credentials on every server, or none',
      ]);
      expect(issuesOf({ ...minimal, NATS_URL: 'nats://u:100%@a:4222' })).toEqual([
        'environment: NATS_URL: has credentials that are not percent-encoded correctly',
      ]);
      expect(
        issuesOf({ ...minimal, NATS_URL: 'nats://u:p@a:4222', NATS_CREDS_FILE: '/run/secrets/nats.creds' }),
      ).toEqual([
        'environment: NATS_CREDS_FILE: is set but NATS_URL carries credentials too: give one of them',
      ]);
      expect(
        issuesOf({ ...minimal, NATS_URL: 'nats://dqkd:p%40ss@a:4222,nats://dqkd:p%40ss@b:4222' }),
      ).toEqual([]);
    });

    it("a DATABASE_URL or NATS_URL still carrying the example Secret's placeholder, without echoing it", () => {
      expect(
        issuesOf({
          ...minimal,
          DATABASE_URL: 'postgres://dqkd:REPLACE-ME@db.east:5432/dqkd?sslmode=verify-full',
          DQKD_KEK: '1:AAAA',
          NATS_URL: 'nats://dqkd:replace-me-later@nats:4222',
        }),
      ).toEqual([
        "environment: DATABASE_URL: carries the example's placeholder REPLACE-ME as a credential: set the real one",
        "environment: NATS_URL: carries the example's placeholder REPLACE-ME as a credential: set the real one",
      ]);
      expect(issuesOf({ ...minimal, NATS_URL: 'nats://REPLACE-ME@a:4222,nats://REPLACE-ME@b:4222' })).toEqual(
        [
          "environment: NATS_URL: entry 1: carries the example's placeholder REPLACE-ME as a credential: set the real one",
          "environment: NATS_URL: entry 2: carries the example's placeholder REPLACE-ME as a credential: set the real one",
        ],
      );
      // Only the credentials: a host or database may be named so.
      expect(
        issuesOf({
          ...minimal,
          DATABASE_URL: 'postgres://dqkd:s3cret@replace-me.east/dqkd',
          DQKD_KEK: '1:AAAA',
        }),
      ).toEqual([]);
    });

    it('NATS credentials or TLS files without NATS_URL', () => {
      expect(issuesOf({ ...minimal, NATS_CREDS_FILE: 'nats.creds' })).toEqual([
        'environment: NATS_CREDS_FILE: is set but NATS_URL is not',
      ]);
    });

    it('a TLS certificate without its key', () => {
      expect(issuesOf({ ...minimal, DQKD_TLS_CERT_FILE: 'kme.pem' })).toEqual([
        'environment: DQKD_TLS_KEY_FILE: must be set together with DQKD_TLS_CERT_FILE',
      ]);
      expect(issuesOf({ ...minimal, NATS_URL: 'tls://n:4222', NATS_TLS_KEY_FILE: 'n.key' })).toEqual([
        'environment: NATS_TLS_CERT_FILE: must be set together with NATS_TLS_KEY_FILE',
      ]);
    });

    it('a client CA without a server certificate', () => {
      expect(issuesOf({ ...minimal, DQKD_TLS_CA_FILE: 'ca.pem' })).toEqual([
        'environment: DQKD_TLS_CA_FILE: is set but DQKD_TLS_CERT_FILE is not',
      ]);
    });

    it('DQKD_MIGRATE other than true or false', () => {
      expect(issuesOf({ ...minimal, DQKD_MIGRATE: 'yes' })).toEqual([
        'environment: DQKD_MIGRATE: must be "true" or "false", got the string "yes"',
      ]);
    });

    it('a LOG_LEVEL pino does not know', () => {
      expect(issuesOf({ ...minimal, LOG_LEVEL: 'verbose' })).toEqual([
        'environment: LOG_LEVEL: must be one of "fatal", "error", "warn", "info", "debug", "trace", "silent", got the string "verbose"',
      ]);
    });

    it('a port that is not a number from 0 to 65535', () => {
      expect(issuesOf({ ...minimal, DQKD_API_PORT: '65536', DQKD_HEALTH_PORT: 'http' })).toEqual([
        'environment: DQKD_API_PORT: must be a port number from 0 to 65535 (0 = any free port)',
        'environment: DQKD_HEALTH_PORT: must be a port number from 0 to 65535 (0 = any free port)',
      ]);
    });

    it('a number of stream copies outside 1 to 5', () => {
      expect(issuesOf({ ...minimal, DQKD_NATS_STREAM_REPLICAS: '7' })).toEqual([
        'environment: DQKD_NATS_STREAM_REPLICAS: must be a number of stream copies from 1 to 5 (at most the NATS cluster size)',
      ]);
    });

    it('a subject prefix that is not a lower-case NATS token', () => {
      expect(issuesOf({ ...minimal, DQKD_SUBJECT_PREFIX: 'Run.1' })).toEqual([
        'environment: DQKD_SUBJECT_PREFIX: must be lower-case letters and digits only',
      ]);
      // With KME east, it would name the streams of prefix dqkd with KME kme-east.
      expect(issuesOf({ ...minimal, DQKD_SUBJECT_PREFIX: 'dqkd-kme' })).toEqual([
        'environment: DQKD_SUBJECT_PREFIX: must be lower-case letters and digits only',
      ]);
    });

    it('a listen host that is neither an IP address nor a host name', () => {
      expect(issuesOf({ ...minimal, DQKD_LISTEN_HOST: 'http://0.0.0.0' })).toEqual([
        'environment: DQKD_LISTEN_HOST: must be an IP address or a host name',
      ]);
    });

    it('the same port for the API and health', () => {
      expect(issuesOf({ ...minimal, DQKD_API_PORT: '8443', DQKD_HEALTH_PORT: '8443' })).toEqual([
        'environment: DQKD_HEALTH_PORT: must differ from DQKD_API_PORT',
      ]);
    });

    it('every bad variable at once', () => {
      expect(issuesOf({ LOG_LEVEL: 'loud', DATABASE_URL: 'postgres://db/dqkd' })).toHaveLength(4);
    });
  });
});
