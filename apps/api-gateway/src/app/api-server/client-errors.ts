import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

import { sendJson } from './json-response';

/** What a path or method no route serves is answered (404). */
export const NOT_FOUND_MESSAGE = 'not found: the ETSI GS QKD 014 routes are under /api/v1/keys/';

/** Why Node could not hand a request to the routes, as the SAE is told it. */
const MESSAGES: Readonly<Record<string, string>> = {
  HPE_HEADER_OVERFLOW: 'the request headers are too large',
  ERR_HTTP_REQUEST_TIMEOUT: 'the request was not received in time',
  ERR_HTTP_HEADERS_TIMEOUT: 'the request headers were not received in time',
};

/**
 * Answers a request Node's HTTP parser refused before any route saw it (malformed, headers too large, too
 * slow). Node's own answer has no body and statuses the spec does not define (408, 431); SAEs parse a JSON
 * body on every non-200, so this one is a 400 with a `{message}`, and the connection closes.
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  // A response already under way on this connection cannot be followed by another: only close it (as Node
  // does).
  const answering = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  // Errors of the TLS layer come here too (https passes tlsClientError on), a handshake that timed out or
  // failed among them: an answer written to that socket would wait for a handshake that never comes, and
  // keep the connection open for ever.
  const ofHttp = error.code?.startsWith('HPE_') === true || error.code?.startsWith('ERR_HTTP_') === true;
  if (!ofHttp || !socket.writable || answering?.headersSent === true) {
    socket.destroy();
    return;
  }
  endWith(socket, '400 Bad Request', MESSAGES[error.code ?? ''] ?? 'the request is not valid HTTP/1.1');
}

/**
 * Answers CONNECT, which asks the KME to be a proxy: no route is one, so a 404 like any other path it does not
 * serve. Node would close the connection without a word.
 */
export function answerConnect(_request: IncomingMessage, socket: Duplex): void {
  endWith(socket, '404 Not Found', NOT_FOUND_MESSAGE);
}

/** Writes an answer with a JSON `{message}` straight to the connection, and closes it. */
function endWith(socket: Duplex, status: string, message: string): void {
  const body = JSON.stringify({ message });
  socket.end(
    [
      `HTTP/1.1 ${status}`,
      'Content-Type: application/json; charset=utf-8',
      `Content-Length: ${Buffer.byteLength(body)}`,
      'Cache-Control: no-store',
      'Connection: close',
      '',
      body,
    ].join('\r\n'),
    // The server allows half-open connections: ending only its side would leave a client that never ends
    // its own holding the socket.
    () => socket.destroy(),
  );
}

/**
 * Answers a request whose Expect header asks for anything but 100-continue, which Node would answer with a
 * bodiless 417, a status the spec does not define. Its body is never read, so the connection closes.
 */
export function answerExpectation(_request: IncomingMessage, response: ServerResponse): void {
  response.setHeader('Connection', 'close');
  sendJson(response, 400, {
    message: 'the Expect header asks for what this KME does not do (only 100-continue)',
  });
}
