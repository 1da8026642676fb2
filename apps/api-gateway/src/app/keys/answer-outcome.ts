import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * How long an answer that hands out keys may take to go out: far longer than one takes to a client that
 * reads it, and well within the claim that holds its keys (CLAIM_LEASE_MS), which must not lapse first.
 */
const ANSWER_LIMIT_MS = 30_000;

/**
 * Resolves true once `response` has gone out whole (handed to the connection while it was still open), false
 * when its connection closed first. One not out within ANSWER_LIMIT_MS (a client that stopped reading) is
 * given up: its connection is closed.
 *
 * Watched on the request's connection, not the response's socket: a response queued behind another on a
 * pipelined connection has no socket yet, and Node tells only the response at the head that the connection
 * closed. Node also finishes a response whose connection was reset under it (its writes fail).
 */
export function answerOutcome(
  request: IncomingMessage,
  response: ServerResponse,
  limitMs = ANSWER_LIMIT_MS,
): Promise<boolean> {
  const connection = request.socket;
  if (connection.destroyed || response.writableEnded) return Promise.resolve(false);
  return new Promise((resolve) => {
    const end = (sent: boolean) => {
      clearTimeout(limit);
      connection.off('close', closed);
      response.off('finish', finished);
      resolve(sent);
    };
    const closed = () => end(false);
    const finished = () => end(!connection.destroyed);
    const limit = setTimeout(() => connection.destroy(), limitMs);
    // A stopping gateway closes what is left of its connections itself (ApiServer).
    limit.unref();
    connection.once('close', closed);
    response.once('finish', finished);
  });
}
