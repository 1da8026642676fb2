import type { IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';

import { DqkdConfig, environmentError } from '@dqkd/config';
import { fail, ok, toEtsiResponse, type Result } from '@dqkd/etsi014';
import { CertificateExpiry } from '@dqkd/metrics';
import {
  readTlsMaterial,
  tlsMaterialProblem,
  MUTUAL_TLS_SERVER,
  tlsSources,
  type MutualTlsServerOptions,
} from '@dqkd/pki';
import { withLogContext } from '@dqkd/runtime';
import {
  Inject,
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';

import { GATEWAY_OPTIONS, type GatewayOptions } from '../gateway-options';
import { KeyDelivery } from '../keys/delivery';
import { KeysController } from '../keys/keys.controller';
import { siteLimits } from '../keys/site-limits';
import { EtsiRequests, requestIdOf } from '../observability/etsi-requests';
import { answerClientError, answerConnect, answerExpectation, NOT_FOUND_MESSAGE } from './client-errors';
import { sendJson } from './json-response';
import { readBody } from './raw-body';
import { discardRest } from './rest-of-body';

/** How often a stopping server looks for connections that have become idle since it stopped listening. */
const IDLE_CHECK_MS = 50;
/**
 * How long a stopping server waits for the requests in flight: longer than any answer takes (the pool and
 * assignment waits are 2 s), well within the runtime's 20 s stop deadline and Kubernetes' 30 s grace.
 */
const DRAIN_MS = 10_000;

const NO_BODY = Buffer.alloc(0);

/**
 * The ETSI API's HTTPS listener with mutual TLS, on the API port; it hands each request straight to the
 * KeysController (health and metrics are Nest's, on the plain port). A client certificate from another CA
 * fails the handshake. Request bodies are read here, within the size limit, so every Content-Type (or none)
 * reaches the routes as raw bytes.
 */
@Injectable()
export class ApiServer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('ApiServer');
  private server: https.Server | undefined;

  constructor(
    private readonly config: DqkdConfig,
    private readonly keys: KeysController,
    private readonly delivery: KeyDelivery,
    private readonly requests: EtsiRequests,
    private readonly certificates: CertificateExpiry,
    @Inject(GATEWAY_OPTIONS) private readonly options: GatewayOptions,
  ) {}

  /** The port the API listens on (the configured one, or the one the system chose for port 0). */
  get port(): number {
    return (this.server?.address() as AddressInfo).port;
  }

  async onApplicationBootstrap(): Promise<void> {
    const { http } = this.config.env;
    const maxBodyBytes = siteLimits(this.config.network, this.config.kme.id).maxRequestBodyBytes;
    const tls = await this.tlsOptions();
    this.certificates.record('api-server', tls.cert);
    this.certificates.record('sae-ca', tls.ca);
    // Node would answer a request without Host itself, with an empty 400; accept() answers it in JSON.
    const options = { ...tls, keepAliveTimeout: 60_000, requireHostHeader: false };
    const server = https.createServer(options, (request, response) => {
      const requestId = requestIdOf(request);
      // Each request's log lines carry its ID (and, once identified, its SAE).
      withLogContext({ request_id: requestId }, () => {
        // Before the request is counted, which names its route.
        const inOriginForm = toOriginForm(request);
        this.requests.begin(request, response, requestId);
        if (!inOriginForm) {
          sendJson(response, 400, { message: 'the request target is not a valid URL' });
          return;
        }
        this.accept(request, response, maxBodyBytes).catch((error: unknown) => {
          this.logger.error(
            `request failed before routing: ${error instanceof Error ? error.message : String(error)}`,
          );
          if (!response.headersSent) sendJson(response, 503, toEtsiResponse({ kind: 'server-error' }).body);
        });
      });
    });
    server.on('clientError', answerClientError);
    server.on('connect', answerConnect);
    server.on('checkExpectation', answerExpectation);
    // Node would answer 100 Continue before any route looks at the request: the body is asked for only once
    // the caller is known (see body()).
    server.on('checkContinue', (request, response) => server.emit('request', request, response));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(http.apiPort, http.listenHost, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    this.logger.log(`ETSI GS QKD 014 API on https://${http.listenHost}:${this.port}/api/v1/keys/`);
  }

  /**
   * Stops taking connections and waits for the requests in flight to be answered (the ledger and NATS close
   * after this, in onApplicationShutdown). A kept-alive connection is closed as soon as it is idle, so SAEs
   * that keep theirs open cannot hold the stop up. Node no longer times requests out once its server closes,
   * so a client that never finishes sending its request would: after DRAIN_MS every connection is closed.
   */
  async beforeApplicationShutdown(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    const idle = setInterval(() => server.closeIdleConnections(), IDLE_CHECK_MS);
    const drainMs = this.options.drainMs ?? DRAIN_MS;
    const cut = setTimeout(() => {
      this.logger.warn(`closing the connections of requests still unanswered ${drainMs} ms into the stop`);
      server.closeAllConnections();
    }, drainMs);
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    });
    clearInterval(idle);
    clearTimeout(cut);
    // Before the ledger closes: whether the last answers went out decides if their keys were delivered.
    await this.delivery.settled();
  }

  private async accept(
    request: IncomingMessage,
    response: ServerResponse,
    maxBodyBytes: number,
  ): Promise<void> {
    if (request.headers.host === undefined && request.httpVersionMinor >= 1) {
      sendJson(response, 400, { message: 'the request shall have a Host header (RFC 9112 §3.2)' });
      return;
    }
    const pathname = (request.url ?? '/').split('?')[0];
    // Only the ETSI routes are served here; anything else (health included) is a 404, its body never read.
    const route = this.keys.route(pathname);
    if (route === undefined) {
      sendJson(response, 404, { message: NOT_FOUND_MESSAGE });
      return;
    }
    // A client that waits to be told to send its body (Expect: 100-continue) sends none if answered first
    // (unknown caller, rate limit, bad path ID): its connection closes, rather than take its next bytes for
    // that body. body() tells it to go on.
    if (request.method === 'POST' && expectsContinue(request)) response.setHeader('Connection', 'close');
    await this.keys.handle(request, response, route, {
      read: () => this.body(request, response, maxBodyBytes),
      // Nothing comes from a client still waiting for its 100 Continue.
      discard: () => (response.hasHeader('Connection') ? Promise.resolve() : discardRest(request, response)),
    });
  }

  /**
   * The request's body, read within the size limit only when the route asks for it: once the caller is
   * known and within its rate, so nobody else makes the KME buffer a body.
   */
  private async body(
    request: IncomingMessage,
    response: ServerResponse,
    maxBodyBytes: number,
  ): Promise<Result<Buffer>> {
    if (request.method !== 'POST') return ok(NO_BODY);
    if (expectsContinue(request)) {
      response.writeContinue();
      response.removeHeader('Connection');
    }
    const read = await readBody(request, maxBodyBytes);
    if (!read.ok) {
      return fail(
        read.why === 'too-large'
          ? { kind: 'body-too-large', max: maxBodyBytes }
          : { kind: 'body-incomplete' },
      );
    }
    return ok(read.body);
  }

  /** TLS material that cannot serve stops the gateway before it listens, naming the variable to fix. */
  private async tlsOptions(): Promise<MutualTlsServerOptions> {
    const { env, kme } = this.config;
    const from = tlsSources(env.pkiDir, kme.id, env.http.tls);
    const material = await readTlsMaterial(from);
    const problem = tlsMaterialProblem(material, from);
    if (problem) throw environmentError(problem.variable, problem.message);
    return { ...material, ...MUTUAL_TLS_SERVER };
  }
}

function expectsContinue(request: IncomingMessage): boolean {
  return request.headers.expect?.toLowerCase() === '100-continue';
}

/**
 * Rewrites a request target in absolute form, which a server accepts too (RFC 9112 §3.2.2), to the origin
 * form the routes and the request metrics read; false when it is not a valid URL.
 */
function toOriginForm(request: IncomingMessage): boolean {
  if (request.url === undefined || !/^https?:\/\//i.test(request.url)) return true;
  try {
    const target = new URL(request.url);
    request.url = `${target.pathname}${target.search}`;
    return true;
  } catch {
    return false;
  }
}
