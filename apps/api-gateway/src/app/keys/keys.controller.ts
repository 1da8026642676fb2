import type { IncomingMessage, ServerResponse } from 'node:http';

import { DqkdConfig, type Sae } from '@dqkd/config';
import {
  fail,
  ok,
  openApiDocument,
  parsePathId,
  toEtsiResponse,
  type EtsiError,
  type Result,
} from '@dqkd/etsi014';
import { addLogFields, describeError } from '@dqkd/runtime';
import { Injectable, Logger } from '@nestjs/common';

import { sendJson } from '../api-server/json-response';
import { KeyCounts } from '../observability/key-counts';
import { answerOutcome } from './answer-outcome';
import { departure } from './departure';
import { callerOf } from './caller';
import { DecKeysService, type DecKeysInput } from './dec-keys.service';
import { EncKeysService, type EncKeysInput } from './enc-keys.service';
import { RateLimiter } from './rate-limiter';
import { siteLimits } from './site-limits';
import { StatusService } from './status.service';

type PathParameter = 'slave_SAE_ID' | 'master_SAE_ID';

/** A path these routes serve, matched once: the OpenAPI document, or a keys method with its raw path ID. */
export type KeysRoute =
  | { readonly kind: 'openapi' }
  | { readonly kind: 'keys'; readonly segment: string; readonly method: KeysMethod };

type KeysMethod = 'status' | 'enc_keys' | 'dec_keys';

/** A request's body, as the ApiServer gives the routes access to it. */
export interface RequestBody {
  /** The POST body's bytes (none for a GET), within the size limit. */
  read(): Promise<Result<Buffer>>;
  /**
   * Reads and drops what the client still sends of a body not read to its end, within limits, so that it can
   * read the answer (see discardRest): called before every answer of the keys routes.
   */
  discard(): Promise<void>;
}

/**
 * `/api/v1/keys/{ID}/{method}`; the ID is matched raw (still URL-encoded), also when empty, and parsed by
 * parsePathId, which refuses what is not an ID with a 400 naming the parameter.
 */
const KEYS_PATH = /^\/api\/v1\/keys\/([^/]*)\/(status|enc_keys|dec_keys)$/;
const OPENAPI_PATH = '/api/v1/openapi.json';
const OPENAPI_ROUTE: KeysRoute = { kind: 'openapi' };

/**
 * The ETSI GS QKD 014 routes (Table 2), called by the ApiServer for every request of its mutual-TLS listener:
 * a table of three paths rather than a web framework's router, whose per-request cost showed in profiles
 * under load. Each answer is JSON with exactly the status the spec allows (200, 400, 401, 503), or 404 for
 * anything else; an unexpected failure is a 503 whose log line names it without any key material.
 */
@Injectable()
export class KeysController {
  private readonly logger = new Logger('KeysController');
  private readonly rateLimiter: RateLimiter;

  constructor(
    private readonly config: DqkdConfig,
    private readonly status: StatusService,
    private readonly encKeys: EncKeysService,
    private readonly decKeys: DecKeysService,
    private readonly keyCounts: KeyCounts,
  ) {
    const limits = siteLimits(config.network, config.kme.id);
    this.rateLimiter = new RateLimiter(() => ({
      perSecond: limits.saeRequestsPerSecond,
      burst: limits.saeRequestBurst,
    }));
  }

  /** The route `pathname` (without its query) names, whatever the HTTP method; undefined when none. */
  route(pathname: string): KeysRoute | undefined {
    if (pathname === OPENAPI_PATH) return OPENAPI_ROUTE;
    const match = KEYS_PATH.exec(pathname);
    return match === null ? undefined : { kind: 'keys', segment: match[1]!, method: match[2] as KeysMethod };
  }

  /**
   * Answers one request to `route` (see route()); only enc_keys and dec_keys read the `body`, once the caller is
   * identified and within its rate.
   */
  handle(
    request: IncomingMessage,
    response: ServerResponse,
    route: KeysRoute,
    body: RequestBody,
  ): Promise<void> {
    // HEAD asks what GET would answer, without the body (Node leaves it out): only of the routes that just read.
    const reads = route.kind === 'openapi' || route.method === 'status';
    const method = request.method === 'HEAD' && reads ? 'GET' : request.method;
    if (route.kind === 'openapi' && method === 'GET') {
      // For the SAEs of this KME, like every route: another certificate of the CA gets the same 401.
      const caller = callerOf(request, this.config.network, this.config.kme.id);
      sendResult(response, caller.ok ? ok(openApiDocument) : caller);
      return Promise.resolve();
    }
    if (route.kind === 'openapi' || (method !== 'GET' && (method !== 'POST' || route.method === 'status'))) {
      const served = reads ? 'GET and HEAD' : 'GET and POST';
      sendJson(response, 404, { message: `not found: this route serves ${served}, not ${request.method}` });
      return Promise.resolve();
    }
    const { segment } = route;
    switch (route.method) {
      case 'status':
        return this.serve(request, response, body, segment, 'slave_SAE_ID', (sae, id) =>
          this.status.status(sae, id),
        );
      case 'enc_keys':
        return this.serve(request, response, body, segment, 'slave_SAE_ID', async (sae, id) => {
          const input = inputOf(request, await body.read(), 'enc_keys');
          const answer = input.ok
            ? await this.encKeys.encKeys(sae, id, input.value, departure(request, response))
            : input;
          this.keyCounts.encKeys(id, answer);
          return answer;
        });
      default:
        return this.serve(request, response, body, segment, 'master_SAE_ID', async (sae, id) => {
          const input = inputOf(request, await body.read(), 'dec_keys');
          const answer = input.ok
            ? await this.decKeys.decKeys(sae, id, input.value, departure(request, response), () =>
                answerOutcome(request, response),
              )
            : input;
          this.keyCounts.decKeys(id, answer);
          return answer;
        });
    }
  }

  /** Identifies the caller, applies its rate limit, reads the path ID, runs the route and answers. */
  private async serve(
    request: IncomingMessage,
    response: ServerResponse,
    body: RequestBody,
    segment: string,
    parameter: PathParameter,
    route: (caller: Sae, pathId: string) => Promise<Result<unknown>>,
  ): Promise<void> {
    let answer: Result<unknown>;
    try {
      answer = await this.answer(request, segment, parameter, route);
    } catch (error) {
      this.logger.error(`${request.method} ${parameter} route failed: ${describeError(error)}`);
      answer = fail({ kind: 'server-error' });
    }
    await body.discard();
    sendResult(response, answer);
  }

  private async answer(
    request: IncomingMessage,
    segment: string,
    parameter: PathParameter,
    route: (caller: Sae, pathId: string) => Promise<Result<unknown>>,
  ): Promise<Result<unknown>> {
    const caller = callerOf(request, this.config.network, this.config.kme.id);
    if (!caller.ok) return caller;
    addLogFields({ sae: caller.value.id });
    if (!this.rateLimiter.take(caller.value.id, Date.now())) return fail({ kind: 'rate-limited' });
    const pathId = parsePathId(segment, parameter);
    if (!pathId.ok) return pathId;
    return route(caller.value, pathId.value);
  }
}

/** 200 with the value, or the error's ETSI status and body. */
function sendResult(response: ServerResponse, answer: Result<unknown>): void {
  if (answer.ok) {
    sendJson(response, 200, answer.value);
  } else {
    const { status, body } = toEtsiResponse(answer.error);
    sendJson(response, status, body);
  }
}

function queryOf(request: IncomingMessage): URLSearchParams {
  return new URL(request.url ?? '/', 'https://kme.invalid').searchParams;
}

/**
 * A GET's query, or a POST's body as JSON whatever its Content-Type (the spec's curl examples send none). A
 * POST with a query is refused: its parameters would otherwise be dropped unseen (`?number=5` giving one key).
 */
function inputOf(
  request: IncomingMessage,
  body: Result<Buffer>,
  route: 'enc_keys' | 'dec_keys',
): Result<EncKeysInput & DecKeysInput> {
  if (request.method === 'GET') return ok({ query: queryOf(request) });
  // Parsed only when there is one: a POST's hot path has no query.
  if (request.url?.includes('?') && queryOf(request).size > 0)
    return fail({ kind: 'query-with-post', route });
  if (!body.ok) return body;
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(body.value);
    // Every item of a request is optional: a body of nothing but JSON whitespace is the empty request too.
    if (/^[ \t\n\r]*$/.test(text)) return ok({ body: {} });
    return ok({ body: JSON.parse(text) as unknown });
  } catch {
    return fail({ kind: 'body-not-json' } satisfies EtsiError);
  }
}
