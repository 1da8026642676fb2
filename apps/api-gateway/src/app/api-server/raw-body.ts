import type { IncomingMessage } from 'node:http';

export type BodyRead =
  | { readonly ok: true; readonly body: Buffer }
  | { readonly ok: false; readonly why: 'too-large' | 'incomplete' };

/**
 * Reads a request's whole body, or stops at `maxBytes`, the rest left unread (see discardRest).
 * A body that breaks off (the client went away, or its chunked encoding is broken, which Node answers itself)
 * is the client's doing, not a failure of the route.
 */
export function readBody(request: IncomingMessage, maxBytes: number): Promise<BodyRead> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let length = 0;
    const onData = (chunk: Buffer) => {
      length += chunk.length;
      if (length > maxBytes) {
        request.off('data', onData);
        request.pause();
        resolve({ ok: false, why: 'too-large' });
        return;
      }
      chunks.push(chunk);
    };
    request.on('data', onData);
    request.once('end', () => resolve({ ok: true, body: Buffer.concat(chunks) }));
    request.once('error', () => resolve({ ok: false, why: 'incomplete' }));
  });
}
