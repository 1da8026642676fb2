import type { ServerResponse } from 'node:http';

/**
 * How long an answer that hands out keys may take to go out: far longer than one takes to a client that
 * reads it, and well within the claim that holds its keys (CLAIM_LEASE_MS), which must not lapse first.
 */
const ANSWER_LIMIT_MS = 30_000;

/**
 * Resolves true once `response` has gone out whole (handed to the connection), false when its connection
 * closed first. One not out within ANSWER_LIMIT_MS (a client that stopped reading) is given up: its connection
 * is closed.
 */
export function answerOutcome(response: ServerResponse, limitMs = ANSWER_LIMIT_MS): Promise<boolean> {
  if (response.destroyed) return Promise.resolve(false);
  return new Promise((resolve) => {
    const limit = setTimeout(() => response.destroy(), limitMs);
    // A stopping gateway closes what is left of its connections itself (ApiServer).
    limit.unref();
    // Node also finishes an answer whose connection was reset under it (its writes fail), and once the
    // connection is gone writableFinished no longer looks at what it held: gone out is finished while the
    // connection was still there.
    const { socket } = response;
    let finished = false;
    response.once('finish', () => (finished = socket?.destroyed === false));
    response.once('close', () => {
      clearTimeout(limit);
      resolve(finished);
    });
  });
}
