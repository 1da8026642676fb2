import type { IncomingMessage } from 'node:http';

/** Where the API server leaves a request's body bytes for the routes (Express' parsers never see them). */
const RAW_BODY = Symbol('dqkd.api-gateway.raw-body');

type WithBody = IncomingMessage & { [RAW_BODY]?: Buffer };

export function setRawBody(request: IncomingMessage, body: Buffer): void {
  (request as WithBody)[RAW_BODY] = body;
}

export function rawBody(request: IncomingMessage): Buffer | undefined {
  return (request as WithBody)[RAW_BODY];
}

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
