import { Writable } from 'node:stream';

import { ConfigError, ENVIRONMENT, UnreachableServiceError } from '@dqkd/config';
import { Logger } from '@nestjs/common';

import { createJsonLogger, wasLogged } from './json-logger';
import { addLogFields, withLogContext } from './log-context';

/** The JSON lines a logger at `level` writes while `work` runs. */
function capture(level: Parameters<typeof createJsonLogger>[0], work: (logger: Logger) => void) {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  const json = createJsonLogger(level, sink);
  Logger.overrideLogger(json);
  try {
    work(new Logger('KeysController'));
  } finally {
    Logger.overrideLogger(false);
  }
  return lines;
}

describe('JsonLogger', () => {
  it('writes one JSON object per line with level, time, Nest context and message', () => {
    const [line] = capture('info', (logger) => logger.warn('pool of kme-east->kme-west is low'));
    expect(line).toMatchObject({
      level: 'warn',
      context: 'KeysController',
      msg: 'pool of kme-east->kme-west is low',
    });
    expect(new Date(line!['time'] as string).getTime()).toBeGreaterThan(0);
  });

  it('adds the fields of the log context: the app and KME, then the request and its SAE', () => {
    const lines = capture('info', (logger) =>
      withLogContext({ app: 'api-gateway', kme: 'kme-east' }, () => {
        logger.log('started');
        withLogContext({ request_id: 'r-1' }, () => {
          addLogFields({ sae: 'sae-alice' });
          logger.error('route failed', 'Error: at x', 'KeysController');
        });
        logger.log('after the request');
      }),
    );
    expect(lines).toEqual([
      expect.objectContaining({ app: 'api-gateway', kme: 'kme-east', msg: 'started' }),
      expect.objectContaining({
        app: 'api-gateway',
        kme: 'kme-east',
        request_id: 'r-1',
        sae: 'sae-alice',
        level: 'error',
        stack: 'Error: at x',
        msg: 'route failed',
      }),
      expect.not.objectContaining({ request_id: 'r-1' }),
    ]);
  });

  it('drops what LOG_LEVEL leaves out, and everything when silent', () => {
    const lines = capture('warn', (logger) => {
      logger.log('not shown');
      logger.debug('not shown');
      logger.error('shown');
    });
    expect(lines.map((line) => line['msg'])).toEqual(['shown']);
    expect(capture('silent', (logger) => logger.error('hidden'))).toEqual([]);
  });

  it("writes the operator's mistakes as one line without a stack: a service out of reach, a file missing", () => {
    const open = "ENOENT: no such file or directory, open '/srv/pki/kme-east.pem'";
    const missing = Object.assign(new Error(open), {
      code: 'ENOENT',
      syscall: 'open',
      path: '/srv/pki/kme-east.pem',
    });
    // Not opening a file: more likely a bug, which keeps its stack.
    const spawned = Object.assign(new Error('spawn /opt/initdb ENOENT'), {
      code: 'ENOENT',
      syscall: 'spawn /opt/initdb',
      path: '/opt/initdb',
    });
    const unreachable = new UnreachableServiceError('NATS_URL', 'nats:4222', new Error('connection refused'));
    const unsuited = new ConfigError([{ source: ENVIRONMENT, path: 'DQKD_MIGRATE', message: 'is not true' }]);
    const lines = capture('info', (logger) => {
      logger.error(missing);
      logger.error(unreachable);
      logger.error(unsuited);
      logger.error(new Error('a bug'), 'Error: a bug\n    at x');
      logger.error(spawned);
      logger.error(undefined);
    });
    expect(
      lines.map(({ msg, stack, err }) => ({ msg, stack: stack ?? (err as { stack?: string })?.stack })),
    ).toEqual([
      {
        msg: 'cannot open /srv/pki/kme-east.pem (ENOENT): check DQKD_HOME and the *_FILE variable that names it',
        stack: undefined,
      },
      { msg: 'NATS_URL: cannot use nats:4222: connection refused', stack: undefined },
      { msg: 'environment: DQKD_MIGRATE: is not true', stack: undefined },
      { msg: 'a bug', stack: 'Error: a bug\n    at x' },
      { msg: 'spawn /opt/initdb ENOENT', stack: spawned.stack },
      { msg: 'undefined', stack: undefined },
    ]);
  });

  it('knows which errors it was given, so that a failed start logs its error once', () => {
    const logged = new Error('cannot start');
    const other = new Error('cannot start');
    capture('info', (logger) => logger.error(logged));
    expect(wasLogged(logged)).toBe(true);
    expect(wasLogged(other)).toBe(false);
    expect(wasLogged('cannot start')).toBe(false);
  });
});
