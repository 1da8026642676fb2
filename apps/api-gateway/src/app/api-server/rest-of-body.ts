import type { IncomingMessage, ServerResponse } from 'node:http';

/** How long and how much of a body left unread is read and dropped before the answer (see discardRest). */
export interface DiscardLimits {
  readonly ms: number;
  readonly bytes: number;
}

/**
 * Enough for a client to finish sending a body many times the largest allowed (max_request_body_bytes) on a
 * slow link, and not so much that a sender that never stops holds its answer long.
 */
const DISCARD_LIMITS: DiscardLimits = { ms: 5_000, bytes: 16 << 20 };

/**
 * Reads and drops what a client still sends of a request to be answered without its whole body (over the size
 * limit, or refused before it was read); resolves once the body has ended, or at the limits. Answered while
 * it still sends, Node closes the connection under it (a TCP reset, with the client's bytes unread), and the
 * client loses the answer to EPIPE or ECONNRESET: Node's client did so for 13 of 20 bodies of 4 MiB. Once the
 * body has ended the connection also stays open for the next request; at the limits `response` is marked to
 * close it, since what the client sends next would be read as that body.
 */
export function discardRest(
  request: IncomingMessage,
  response: ServerResponse,
  limits: DiscardLimits = DISCARD_LIMITS,
): Promise<void> {
  // Not `complete`: a body that has all come may still sit unread in the request's buffer, the connection
  // paused behind it, and the next request on it would never be read.
  if (request.readableEnded || request.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    let left = limits.bytes;
    const done = () => {
      clearTimeout(timer);
      request.off('data', onData);
      resolve();
    };
    const giveUp = () => {
      request.pause();
      response.setHeader('Connection', 'close');
      done();
    };
    const timer = setTimeout(giveUp, limits.ms);
    const onData = (chunk: Buffer) => {
      left -= chunk.length;
      if (left < 0) giveUp();
    };
    request.on('data', onData);
    request.once('end', done);
    request.once('close', done);
    request.resume();
  });
}
