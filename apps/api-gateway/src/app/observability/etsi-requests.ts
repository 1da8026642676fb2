import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

import { InjectMetric, type Counter, type Histogram } from '@dqkd/metrics';
import { inCurrentLogContext } from '@dqkd/runtime';
import { Injectable, Logger } from '@nestjs/common';

import { etsiRoute } from './etsi-route';
import { REQUEST_DURATION, RESPONSES } from './gateway-metrics';

/** A request ID a client sent that is safe to echo and log; anything else is replaced by a fresh one. */
const CLIENT_REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

export const REQUEST_ID_HEADER = 'X-Request-Id';

/**
 * Every request on the mutual-TLS listener: its request ID (the client's X-Request-Id when it sent a sane one,
 * else a new UUID), returned in X-Request-Id; its answer counted by route and status and timed; and one log
 * line when it ends. The line names the route, never the URL, whose query may hold key IDs.
 */
@Injectable()
export class EtsiRequests {
  private readonly logger = new Logger('EtsiRequests');

  constructor(
    @InjectMetric(RESPONSES) private readonly responses: Counter,
    @InjectMetric(REQUEST_DURATION) private readonly duration: Histogram,
  ) {}

  /** Call first, before anything can answer, within the request's log context (see requestIdOf). */
  begin(request: IncomingMessage, response: ServerResponse, requestId: string): void {
    response.setHeader(REQUEST_ID_HEADER, requestId);
    const route = etsiRoute((request.url ?? '/').split('?')[0]!);
    const started = process.hrtime.bigint();
    // `close` comes after the last byte is sent, or when the client goes away first; bound to this request's
    // log context, so the line carries its request ID and the SAE identified meanwhile.
    response.once(
      'close',
      inCurrentLogContext(() => {
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        const status = String(response.statusCode);
        this.duration.observe({ route }, seconds);
        this.responses.inc({ route, status });
        this.logger.log({
          msg: 'ETSI request answered',
          method: request.method,
          route,
          status: response.statusCode,
          duration_seconds: seconds,
          completed: response.writableFinished,
        });
      }),
    );
  }
}

/** The ID of a request: the client's X-Request-Id when it sent a sane one, else a new UUID. */
export function requestIdOf(request: IncomingMessage): string {
  const sent = request.headers['x-request-id'];
  return typeof sent === 'string' && CLIENT_REQUEST_ID.test(sent) ? sent : randomUUID();
}
