import type { IncomingMessage, ServerResponse } from 'node:http';

/** Whether a request's client has gone before its answer was sent. */
export interface Departure {
  readonly aborted: boolean;
}

/**
 * The queued requests whose client is still there; each of the others is answered with `gone` (to nobody, it is
 * only settled) and left out of the batch.
 */
export function present<Pending extends { readonly request: { readonly departed: Departure } }>(
  batch: readonly Pending[],
  gone: (pending: Pending) => void,
): Pending[] {
  return batch.filter((pending) => {
    if (!pending.request.departed.aborted) return true;
    gone(pending);
    return false;
  });
}

/**
 * A request's departure, read when its batch starts: keys are not carved or claimed for a client that went away
 * (a slave that gave up waiting would lose a key claimed for an answer nobody reads, and hear "not found" when
 * it asks again). Read from the socket, not the response's `close`: Node tells only the response at the head of
 * a pipelined connection that it closed.
 */
export function departure(request: IncomingMessage, response: ServerResponse): Departure {
  return {
    get aborted() {
      return request.socket.destroyed && !response.writableFinished;
    },
  };
}
