import { BusConfigError } from '../errors';
import { resolveNatsOptions } from './options';

describe('resolveNatsOptions', () => {
  it('reconnects for ever by default, so a NATS restart does not end the process', () => {
    const resolved = resolveNatsOptions({ servers: 'nats://127.0.0.1:4222' });
    expect(resolved.connection).toMatchObject({
      servers: ['nats://127.0.0.1:4222'],
      maxReconnectAttempts: -1,
    });
    expect([resolved.requestTimeoutMs, resolved.pullExpiresMs]).toEqual([5000, 5000]);
  });

  it('splits a comma-separated NATS_URL into a cluster', () => {
    const { connection } = resolveNatsOptions({ servers: 'nats://a:4222, tls://b:4222' });
    expect(connection.servers).toEqual(['nats://a:4222', 'tls://b:4222']);
  });

  it('requires TLS for a tls:// URL, also without TLS files, and not for nats://', () => {
    expect(resolveNatsOptions({ servers: 'tls://nats.example:4222' }).connection.tls).toEqual({});
    expect(resolveNatsOptions({ servers: 'nats://a:4222,tls://b:4222' }).connection.tls).toEqual({});
    expect(resolveNatsOptions({ servers: 'nats://nats.example:4222' }).connection.tls).toBeUndefined();
  });

  it('passes TLS files and credentials through for the inter-site link', () => {
    const tls = { caFile: '/pki/ca.pem', certFile: '/pki/kme.pem', keyFile: '/pki/kme.key' };
    expect(resolveNatsOptions({ servers: 'tls://a:4222', tls }).connection.tls).toEqual(tls);
    const user = resolveNatsOptions({ servers: 'nats://a:4222', auth: { user: 'east', pass: 's3cret' } });
    expect(user.connection).toMatchObject({ user: 'east', pass: 's3cret' });
    expect(resolveNatsOptions({ servers: 'nats://a:4222', auth: { token: 't0k' } }).connection.token).toBe(
      't0k',
    );
    expect(resolveNatsOptions({ servers: 'nats://a:4222', auth: { credsFile: '/x.creds' } }).credsFile).toBe(
      '/x.creds',
    );
  });

  it("logs in with the URL's user and password, which the NATS client itself ignores", () => {
    const resolved = resolveNatsOptions({ servers: 'nats://dqkd-east:p%40ss%2Fw0rd@nats-east:4222' });
    expect(resolved.connection).toMatchObject({
      servers: ['nats://nats-east:4222'],
      user: 'dqkd-east',
      pass: 'p@ss/w0rd',
    });
    const cluster = resolveNatsOptions({ servers: 'nats://u:p@a:4222,nats://u:p@b:4222' }).connection;
    expect(cluster).toMatchObject({ servers: ['nats://a:4222', 'nats://b:4222'], user: 'u', pass: 'p' });
    expect(resolveNatsOptions({ servers: 'tls://t0k@a:4222' }).connection).toMatchObject({ token: 't0k' });
  });

  it('keeps the JetStream domain of a site joined by a leaf node', () => {
    expect(resolveNatsOptions({ servers: 'nats://a:4222', domain: 'east' }).domain).toBe('east');
    expect(() => resolveNatsOptions({ servers: 'nats://a:4222', domain: 'east.x' })).toThrow(BusConfigError);
  });

  it('names servers by host only, since a URL may carry a password', () => {
    expect(resolveNatsOptions({ servers: 'nats://east:pw@nats.east:4222' }).where).toBe('nats.east:4222');
    expect(() => resolveNatsOptions({ servers: 'http://east:pw@a' })).toThrow(/^servers\[0\] must be/);
  });

  it.each([
    ['no servers', { servers: [] }],
    ['a server that is not a URL', { servers: 'localhost' }],
    ['a pull shorter than JetStream allows', { servers: 'nats://a', pullExpiresMs: 500 }],
    ['a negative reconnect count', { servers: 'nats://a', maxReconnectAttempts: -2 }],
    [
      'two ways to authenticate',
      { servers: 'nats://a', auth: { token: 't', credsFile: '/c' } as { token: string } },
    ],
    ['an empty token', { servers: 'nats://a', auth: { token: '' } }],
    ['credentials in the URL and as auth', { servers: 'nats://u:p@a', auth: { token: 't' } }],
    ['servers of one cluster with other credentials', { servers: 'nats://u:p@a,nats://u:q@b' }],
    ['a cluster with credentials on some servers only', { servers: 'nats://u:p@a,nats://b' }],
    ['a password that is not percent-encoded correctly', { servers: 'nats://u:100%@a' }],
  ])('refuses %s', (_case, options) => expect(() => resolveNatsOptions(options)).toThrow(BusConfigError));
});
