import http from 'node:http';
import { connect, type AddressInfo } from 'node:net';

import { sendJson } from './json-response';
import { readBody } from './raw-body';
import { discardRest, type DiscardLimits } from './rest-of-body';

/**
 * A plain HTTP server that refuses every request (400) without reading its body, only discarding it; `ended`
 * tells, per request, whether its whole body had come when the answer went.
 */
async function refusingServer(limits: DiscardLimits) {
  const ended: boolean[] = [];
  const server = http.createServer((request, response) => {
    void discardRest(request, response, limits).then(() => {
      ended.push(request.complete);
      sendJson(response, 400, { message: 'refused' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, ended };
}

/** POSTs `chunks` one after another (`gapMs` apart), then ends the body: the answer's status, or the error. */
function post(port: number, chunks: readonly Buffer[], gapMs = 0): Promise<number | string | undefined> {
  return new Promise((resolve) => {
    const request = http.request({ port, host: '127.0.0.1', method: 'POST', agent: false }, (response) => {
      resolve(response.statusCode);
      response.resume();
    });
    request.on('error', (error: NodeJS.ErrnoException) => resolve(error.code));
    void (async () => {
      for (const chunk of chunks) {
        if (request.destroyed) return;
        request.write(chunk);
        if (gapMs > 0) await new Promise((done) => setTimeout(done, gapMs));
      }
      request.end();
    })();
  });
}

describe('discardRest', () => {
  const servers: http.Server[] = [];
  afterAll(() => servers.forEach((server) => server.close()));
  const start = async (limits: DiscardLimits) => {
    const started = await refusingServer(limits);
    servers.push(started.server);
    return started;
  };
  const chunks = (count: number, bytes: number) =>
    Array.from({ length: count }, () => Buffer.alloc(bytes, 32));

  it('lets a client finish sending a body within the limits, which then reads the answer', async () => {
    const { port, ended } = await start({ ms: 5_000, bytes: 8 << 20 });
    // Answered at once instead, each lost its answer to EPIPE.
    const answers = await Promise.all(Array.from({ length: 4 }, () => post(port, chunks(64, 64 << 10))));
    expect(answers).toEqual([400, 400, 400, 400]);
    expect(ended).toEqual([true, true, true, true]);
  });

  it('answers without the rest of a body larger than the bytes allowed', async () => {
    const { port, ended } = await start({ ms: 5_000, bytes: 1 << 20 });
    void post(port, chunks(512, 64 << 10));
    await waitFor(() => ended.length === 1);
    expect(ended).toEqual([false]);
  });

  it('answers without the rest of a body still on its way when the time allowed is over', async () => {
    const { port, ended } = await start({ ms: 300, bytes: 8 << 20 });
    const began = Date.now();
    // 40 chunks 50 ms apart take 2 s.
    void post(port, chunks(40, 1024), 50);
    await waitFor(() => ended.length === 1);
    expect(ended).toEqual([false]);
    expect(Date.now() - began).toBeLessThan(1_500);
  });

  // Else the next bytes the client sends would be read as that body.
  it('closes the connection after answering a request whose promised body did not come in time', async () => {
    const { port } = await start({ ms: 200, bytes: 8 << 20 });
    const answer = await new Promise<string>((resolve) => {
      let text = '';
      const socket = connect(port, '127.0.0.1', () =>
        socket.write('POST / HTTP/1.1\r\nHost: kme\r\nContent-Length: 100\r\n\r\n'),
      );
      socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
      socket.on('close', () => resolve(text));
    });
    expect(answer).toMatch(/^HTTP\/1.1 400 Bad Request\r\n(.*\r\n)*Connection: close\r\n/);
  });

  // The whole body had come, but sat unread in the request behind the size limit's pause, the connection
  // paused behind it: the next request on that connection was never read.
  it('leaves a kept-alive connection serving the next request after a body over the limit', async () => {
    const server = http.createServer((request, response) => {
      void readBody(request, 1024).then(async (read) => {
        if (!read.ok) await discardRest(request, response);
        sendJson(response, read.ok ? 200 : 400, {});
      });
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const send = (body: Buffer) =>
      new Promise<number | undefined>((resolve, reject) => {
        const request = http.request({ port, host: '127.0.0.1', method: 'POST', agent }, (response) => {
          response.resume();
          response.on('end', () => resolve(response.statusCode));
        });
        request.on('error', reject);
        request.end(body);
      });
    try {
      expect(await send(Buffer.alloc(60_000, 32))).toBe(400);
      expect(await send(Buffer.from('{}'))).toBe(200);
    } finally {
      agent.destroy();
    }
  });
});

async function waitFor(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((resolve) => setTimeout(resolve, 10));
}
