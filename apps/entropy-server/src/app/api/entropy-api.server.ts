import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';

import {
  LEASE_PATH,
  MAX_REQUEST_BYTES,
  READ_PATH,
  REFUSAL_STATUS,
  type RefusalBody,
  type RefusalReason,
  type SampleAnswerBody,
} from '@dqkd/entropy';
import { CertificateExpiry, InjectMetric, type Counter } from '@dqkd/metrics';
import { certificateIdentity, MUTUAL_TLS_SERVER } from '@dqkd/pki';
import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';

import { LEASES, READS, REFUSALS } from '../entropy-metrics';
import type { EntropyServerSetup } from '../entropy-server-setup';
import { ENTROPY_SERVER_SETUP } from '../entropy-server.tokens';
import { PoolKeeper } from '../pools/pool-keeper.service';
import { SampleRefusal } from '../pools/sample-refusal';
import { parseLeaseRequest, parseReadRequest } from './requests';
import { SampleSealer } from './sample-sealer';

/** A request that has not sent its body by then is dropped. */
const REQUEST_TIMEOUT_MS = 10_000;
/** Longer than KMEs keep idle connections, so they, not the server, close them. */
const KEEP_ALIVE_MS = 10_000;

/**
 * The lease/read API on its own HTTPS server with mutual TLS: the handshake admits only certificates of
 * the configured CA, and the caller is the KME named by the certificate's CN, which must be a KME of the
 * network file. Health and metrics stay on the plain-HTTP Nest application.
 */
@Injectable()
export class EntropyApiServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('EntropyApi');
  private readonly sealer: SampleSealer;
  private server: Server | undefined;

  constructor(
    @Inject(ENTROPY_SERVER_SETUP) private readonly setup: EntropyServerSetup,
    private readonly keeper: PoolKeeper,
    @InjectMetric(LEASES) private readonly leases: Counter,
    @InjectMetric(READS) private readonly reads: Counter,
    @InjectMetric(REFUSALS) private readonly refusals: Counter,
    certificates: CertificateExpiry,
  ) {
    certificates.record('entropy-server', setup.tls.cert as string | Buffer);
    certificates.record('kme-ca', setup.tls.ca as string | Buffer);
    this.sealer = new SampleSealer(setup.identity, setup.network);
  }

  async onApplicationBootstrap(): Promise<void> {
    const server = createServer(
      { ...this.setup.tls, ...MUTUAL_TLS_SERVER },
      (request, response) => void this.handle(request, response),
    );
    server.requestTimeout = REQUEST_TIMEOUT_MS;
    server.keepAliveTimeout = KEEP_ALIVE_MS;
    const { listenHost, apiPort } = this.setup.env.http;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(apiPort, listenHost, () => resolve());
    });
    this.server = server;
    this.logger.log(`entropy API of ${this.setup.server.id} on ${this.url}`);
  }

  /** Where the API listens, e.g. `https://127.0.0.1:7101`; set once the application has started. */
  get url(): string | undefined {
    const address = this.server?.address() as AddressInfo | null | undefined;
    return address ? `https://${this.setup.env.http.listenHost}:${address.port}` : undefined;
  }

  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const caller = certificateIdentity((request.socket as TLSSocket).getPeerCertificate());
    try {
      if (!caller || !this.setup.network.kme(caller)) {
        throw new SampleRefusal('not-a-kme', 'the client certificate does not name a KME of the network');
      }
      if (request.method !== 'POST' || (request.url !== LEASE_PATH && request.url !== READ_PATH)) {
        return this.send(response, 404, { error: 'invalid-request', message: 'no such route' });
      }
      const body = await readJson(request);
      const answer = request.url === LEASE_PATH ? this.lease(caller, body) : this.read(caller, body);
      this.keeper.updateGauge();
      this.send(response, 200, answer);
    } catch (error) {
      const refusal =
        error instanceof SampleRefusal
          ? error
          : new SampleRefusal('internal', 'the request could not be served');
      if (refusal.reason === 'internal')
        this.logger.error(error instanceof Error ? error.message : String(error));
      this.refusals.inc({ reason: refusal.reason });
      this.refuse(response, refusal.reason, refusal.message);
    }
  }

  private lease(caller: string, body: unknown): SampleAnswerBody {
    const parsed = parseLeaseRequest(body);
    if ('problem' in parsed) throw new SampleRefusal('invalid-request', parsed.problem);
    const unknown = parsed.value.readers.find((reader) => !this.setup.network.kme(reader));
    if (unknown !== undefined) throw new SampleRefusal('invalid-request', `reader "${unknown}" is not a KME`);
    const sample = this.keeper.store.lease(
      { caller, bytes: parsed.value.bytes, readers: parsed.value.readers, deadline: parsed.value.not_after },
      Date.now(),
    );
    this.leases.inc();
    return this.sealer.answer(sample, caller);
  }

  private read(caller: string, body: unknown): SampleAnswerBody {
    const parsed = parseReadRequest(body);
    if ('problem' in parsed) throw new SampleRefusal('invalid-request', parsed.problem);
    const { pool_id: poolId, offset, length, leased_by: leasedBy } = parsed.value;
    const sample = this.keeper.store.read(caller, { poolId, offset, length }, Date.now(), leasedBy);
    this.reads.inc();
    return this.sealer.answer(sample, caller);
  }

  private refuse(response: ServerResponse, reason: RefusalReason, message: string): void {
    const body: RefusalBody = { error: reason, message };
    this.send(response, REFUSAL_STATUS[reason], body);
  }

  private send(response: ServerResponse, status: number, body: object): void {
    if (response.headersSent) return;
    const text = JSON.stringify(body);
    response.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
    });
    response.end(text);
  }
}

/** The body as JSON, at most MAX_REQUEST_BYTES; anything else is an invalid request. */
async function readJson(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_REQUEST_BYTES)
      throw new SampleRefusal('invalid-request', `body over ${MAX_REQUEST_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new SampleRefusal('invalid-request', 'the body is not JSON');
  }
}
