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
import { addLogFields } from '@dqkd/runtime';
import { Controller, Get, Logger, Post, Req, Res } from '@nestjs/common';

import { sendJson } from '../api-server/json-response';
import { rawBody } from '../api-server/raw-body';
import { KeyCounts } from '../observability/key-counts';
import { callerOf, overMutualTls } from './caller';
import { DecKeysService } from './dec-keys.service';
import { EncKeysService } from './enc-keys.service';
import { describeError } from './gateway-support';
import { RateLimiter } from './rate-limiter';
import { siteLimits } from './site-limits';
import { StatusService } from './status.service';

type PathParameter = 'slave_SAE_ID' | 'master_SAE_ID';

/**
 * The ETSI GS QKD 014 routes (Table 2). Each answer is JSON with exactly the status the spec allows (200, 400,
 * 401, 503); an unexpected failure is a 503 whose log line names it without any key material.
 */
@Controller('api/v1')
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

  @Get('openapi.json')
  openApi(@Req() request: IncomingMessage, @Res() response: ServerResponse): void {
    if (!overMutualTls(request)) return notFound(response);
    sendJson(response, 200, openApiDocument);
  }

  @Get('keys/:id/status')
  getStatus(@Req() request: IncomingMessage, @Res() response: ServerResponse): Promise<void> {
    return this.serve(request, response, 'slave_SAE_ID', (sae, id) => this.status.status(sae, id));
  }

  @Get('keys/:id/enc_keys')
  getEncKeys(@Req() request: IncomingMessage, @Res() response: ServerResponse): Promise<void> {
    return this.serve(request, response, 'slave_SAE_ID', async (sae, id) =>
      this.issued(id, await this.encKeys.encKeys(sae, id, { query: queryOf(request) })),
    );
  }

  @Post('keys/:id/enc_keys')
  postEncKeys(@Req() request: IncomingMessage, @Res() response: ServerResponse): Promise<void> {
    return this.serve(request, response, 'slave_SAE_ID', async (sae, id) => {
      const body = jsonBody(request);
      return body.ok ? this.issued(id, await this.encKeys.encKeys(sae, id, { body: body.value })) : body;
    });
  }

  @Get('keys/:id/dec_keys')
  getDecKeys(@Req() request: IncomingMessage, @Res() response: ServerResponse): Promise<void> {
    return this.serve(request, response, 'master_SAE_ID', async (sae, id) =>
      this.delivered(id, await this.decKeys.decKeys(sae, id, { query: queryOf(request) })),
    );
  }

  @Post('keys/:id/dec_keys')
  postDecKeys(@Req() request: IncomingMessage, @Res() response: ServerResponse): Promise<void> {
    return this.serve(request, response, 'master_SAE_ID', async (sae, id) => {
      const body = jsonBody(request);
      return body.ok ? this.delivered(id, await this.decKeys.decKeys(sae, id, { body: body.value })) : body;
    });
  }

  /** Counts the keys of an enc_keys answer about to be sent (by link, never by key). */
  private issued(pathId: string, answer: Result<unknown>): Result<unknown> {
    this.keyCounts.encKeys(pathId, answer);
    return answer;
  }

  private delivered(pathId: string, answer: Result<unknown>): Result<unknown> {
    this.keyCounts.decKeys(pathId, answer);
    return answer;
  }

  /** Identifies the caller, applies its rate limit, reads the path ID, runs the route and answers. */
  private async serve(
    request: IncomingMessage,
    response: ServerResponse,
    parameter: PathParameter,
    route: (caller: Sae, pathId: string) => Promise<Result<unknown>>,
  ): Promise<void> {
    if (!overMutualTls(request)) return notFound(response);
    let answer: Result<unknown>;
    try {
      answer = await this.answer(request, parameter, route);
    } catch (error) {
      this.logger.error(`${request.method} ${parameter} route failed: ${describeError(error)}`);
      answer = fail({ kind: 'server-error' });
    }
    if (answer.ok) {
      sendJson(response, 200, answer.value);
    } else {
      const { status, body } = toEtsiResponse(answer.error);
      sendJson(response, status, body);
    }
  }

  private async answer(
    request: IncomingMessage,
    parameter: PathParameter,
    route: (caller: Sae, pathId: string) => Promise<Result<unknown>>,
  ): Promise<Result<unknown>> {
    const caller = callerOf(request, this.config.network, this.config.kme.id);
    if (!caller.ok) return caller;
    addLogFields({ sae: caller.value.id });
    if (!this.rateLimiter.take(caller.value.id, Date.now())) return fail({ kind: 'rate-limited' });
    // The raw segment, still URL-encoded: the router's decoded parameter would decode `%25` twice.
    const segment = (request.url ?? '').split('?')[0].split('/')[4] ?? '';
    const pathId = parsePathId(segment, parameter);
    if (!pathId.ok) return pathId;
    return route(caller.value, pathId.value);
  }
}

function notFound(response: ServerResponse): void {
  sendJson(response, 404, { message: 'not found' });
}

function queryOf(request: IncomingMessage): URLSearchParams {
  return new URL(request.url ?? '/', 'https://kme.invalid').searchParams;
}

/** The POST body as JSON whatever its Content-Type, as the spec's curl examples send none; empty is `{}`. */
function jsonBody(request: IncomingMessage): Result<unknown> {
  const bytes = rawBody(request) ?? Buffer.alloc(0);
  if (bytes.length === 0) return ok({});
  try {
    return ok(JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)));
  } catch {
    return fail({ kind: 'body-not-json' } satisfies EtsiError);
  }
}
