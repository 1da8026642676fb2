import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';

import { readBody } from './raw-body';

const requestOf = (stream: PassThrough) => stream as unknown as IncomingMessage;

describe('readBody', () => {
  it('reads the whole body', async () => {
    const stream = new PassThrough();
    const read = readBody(requestOf(stream), 16);
    stream.end('{"number": 1}');
    expect(await read).toEqual({ ok: true, body: Buffer.from('{"number": 1}') });
  });

  it('stops at the limit', async () => {
    const stream = new PassThrough();
    const read = readBody(requestOf(stream), 4);
    stream.write('{"number": 1}');
    expect(await read).toEqual({ ok: false, why: 'too-large' });
  });

  // The client went away or broke its chunked encoding: the client's doing, answered 400, never a route's
  // failure logged as an error.
  it('says a body that breaks off is incomplete', async () => {
    const stream = new PassThrough();
    const read = readBody(requestOf(stream), 16);
    stream.write('{"num');
    stream.destroy(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
    expect(await read).toEqual({ ok: false, why: 'incomplete' });
  });
});
