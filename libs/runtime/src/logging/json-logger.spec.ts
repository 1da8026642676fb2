import { Writable } from 'node:stream';

import { Logger } from '@nestjs/common';

import { createJsonLogger } from './json-logger';
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
});
