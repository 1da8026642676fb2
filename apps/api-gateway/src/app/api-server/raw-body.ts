import type { IncomingMessage } from 'node:http';

export type BodyRead = { readonly ok: true; readonly body: Buffer } | { readonly ok: false };

/** Reads a request's whole body, or stops at `maxBytes` (then the rest is left unread and the caller closes). */
export function readBody(request: IncomingMessage, maxBytes: number): Promise<BodyRead> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    const onData = (chunk: Buffer) => {
      length += chunk.length;
      if (length > maxBytes) {
        request.off('data', onData);
        request.pause();
        resolve({ ok: false });
        return;
      }
      chunks.push(chunk);
    };
    request.on('data', onData);
    request.once('end', () => resolve({ ok: true, body: Buffer.concat(chunks) }));
    request.once('error', reject);
  });
}
