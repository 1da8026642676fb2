import http from 'node:http';
import { connect, type AddressInfo } from 'node:net';

import { answerOutcome } from './answer-outcome';

/** A plain HTTP server that answers each request with `bytes` bytes, resolving whether each went out. */
async function answering(bytes: number, limitMs: number) {
  const outcomes: Promise<boolean>[] = [];
  const server = http.createServer((request, response) => {
    outcomes.push(answerOutcome(request, response, limitMs));
    response.end(Buffer.alloc(bytes, 65));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, outcomes };
}

/** Sends one request, and reads the answer or leaves it unread. */
function send(port: number, read: boolean): void {
  const socket = connect(port, '127.0.0.1', () => {
    socket.write('GET / HTTP/1.1\r\nHost: kme\r\nConnection: close\r\n\r\n');
    if (read) socket.resume();
    else socket.pause();
  });
  socket.on('error', () => undefined);
}

/** Resolves once the server has an outcome for its first answer. */
async function firstOutcome(outcomes: Promise<boolean>[]): Promise<boolean> {
  while (outcomes.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
  return outcomes[0]!;
}

describe('answerOutcome', () => {
  const servers: http.Server[] = [];
  afterAll(() => servers.forEach((server) => server.close()));

  it('tells an answer that went out whole', async () => {
    const { server, port, outcomes } = await answering(1_000, 5_000);
    servers.push(server);
    send(port, true);
    expect(await firstOutcome(outcomes)).toBe(true);
  });

  // A client that stopped reading would otherwise hold the claim on its keys until it lapses.
  it('gives up an answer its client does not read within the limit, closing the connection', async () => {
    const { server, port, outcomes } = await answering(32 << 20, 300);
    servers.push(server);
    const began = Date.now();
    send(port, false);
    expect(await firstOutcome(outcomes)).toBe(false);
    expect(Date.now() - began).toBeLessThan(3_000);
  });
});
