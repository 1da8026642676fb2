import type http from 'node:http';
import https from 'node:https';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';

import type { KeyContainer, KeyRequest, Status } from '@dqkd/etsi014';

import { EtsiClientError, EtsiHttpError } from './errors';
import {
  decKeysRequest,
  encKeysRequest,
  statusRequest,
  type KeyIdsInput,
  type PlannedRequest,
  type SimpleKeyRequest,
} from './requests';
import { readErrorBody, readKeyContainer, readStatus } from './responses';

type Pem = string | Buffer;

interface CommonOptions {
  /** The KME's base URL, e.g. `https://127.0.0.1:8443`; routes go under `/api/v1/keys/`. */
  readonly baseUrl: string;
  /** CA certificate(s) that issued the KME's certificate. */
  readonly ca: Pem | readonly Pem[];
  /** Bound on each whole exchange, connection included (default 10 s). */
  readonly timeoutMs?: number;
  /** Bound on an answer's body (default 32 MiB, above the largest key container a link allows). */
  readonly maxResponseBytes?: number;
  /**
   * The KME's ID, which its certificate must name as its CN besides matching the URL's host: any server the
   * network CA certified for that host (another KME, an entropy server) would pass the host check alone.
   */
  readonly kmeId?: string;
}

/** The SAE's identity as PEM certificate and key, or as PKCS#12. */
export type EtsiClientOptions = CommonOptions &
  (
    | { readonly cert: Pem; readonly key: Pem; readonly pfx?: never }
    | { readonly pfx: Buffer; readonly passphrase?: string; readonly cert?: never; readonly key?: never }
  );

export interface GetOption {
  readonly method: 'GET';
}

export interface PostOption {
  readonly method?: 'POST';
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_RESPONSE_BYTES = 32 * 1024 * 1024;

interface Answer {
  readonly status: number;
  readonly text: string;
}

/**
 * A typed client of the ETSI GS QKD 014 API of one KME, over mutual TLS with kept-alive connections.
 * Non-200 answers reject with `EtsiHttpError`; everything else that fails rejects with `EtsiClientError`.
 */
export class EtsiClient {
  private readonly agent: https.Agent;
  private readonly origin: URL;
  private readonly prefix: string;
  private readonly timeoutMs: number;
  private readonly maxResponseBytes: number;

  constructor(options: EtsiClientOptions) {
    let url: URL;
    try {
      url = new URL(options.baseUrl);
    } catch (error) {
      throw new EtsiClientError('invalid-request', `baseUrl ${options.baseUrl} is not a URL`, {
        cause: error,
      });
    }
    if (url.protocol !== 'https:') {
      throw new EtsiClientError('invalid-request', `baseUrl ${options.baseUrl} is not https`);
    }
    this.origin = url;
    this.prefix = url.pathname.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    this.agent = new https.Agent({
      keepAlive: true,
      minVersion: 'TLSv1.2',
      ca: options.ca as Pem | Pem[],
      ...(options.kmeId === undefined ? {} : { checkServerIdentity: kmeIdentityCheck(options.kmeId) }),
      ...(options.pfx
        ? { pfx: options.pfx, passphrase: options.passphrase }
        : { cert: options.cert, key: options.key }),
    });
  }

  /** Get status (§5.1) of the link to `slaveSaeId`. */
  async status(slaveSaeId: string): Promise<Status> {
    return readStatus(await this.exchange(statusRequest(slaveSaeId)));
  }

  /**
   * Get key (§5.2) for `slaveSaeId`: POST with the whole request by default, or GET when asked, which
   * carries only `number` and `size`.
   */
  encKeys(slaveSaeId: string, request: SimpleKeyRequest, options: GetOption): Promise<KeyContainer>;
  encKeys(slaveSaeId: string, request?: KeyRequest, options?: PostOption): Promise<KeyContainer>;
  async encKeys(
    slaveSaeId: string,
    request: KeyRequest = {},
    options: GetOption | PostOption = {},
  ): Promise<KeyContainer> {
    return readKeyContainer(
      await this.exchange(encKeysRequest(slaveSaeId, request, options.method ?? 'POST')),
    );
  }

  /**
   * Get key with key IDs (§5.3) from the keys `masterSaeId` asked for: POST by default, or GET when asked,
   * which takes exactly one key ID without extensions.
   */
  async decKeys(
    masterSaeId: string,
    keyIds: KeyIdsInput,
    options: GetOption | PostOption = {},
  ): Promise<KeyContainer> {
    return readKeyContainer(
      await this.exchange(decKeysRequest(masterSaeId, keyIds, options.method ?? 'POST')),
    );
  }

  /** Closes the kept-alive connections; the client is not used afterwards. */
  close(): void {
    this.agent.destroy();
  }

  /** The body of a 200 answer; any other status rejects with its Error body. */
  private async exchange(plan: PlannedRequest): Promise<string> {
    const answer = await this.send(plan);
    if (answer.status === 200) return answer.text;
    throw new EtsiHttpError(answer.status, readErrorBody(answer.status, answer.text), plan.method, plan.path);
  }

  private send(plan: PlannedRequest): Promise<Answer> {
    return new Promise((resolve, reject) => {
      let settled = false;
      let request: http.ClientRequest | undefined;
      const settle = (outcome: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        outcome();
      };
      // Fails the exchange once, whatever fires first, and drops the socket so a late answer is not read.
      const fail = (error: Error): void => {
        settle(() =>
          reject(
            error instanceof EtsiClientError
              ? error
              : new EtsiClientError('connection', `${plan.method} ${plan.path}: ${error.message}`, {
                  cause: error,
                }),
          ),
        );
        request?.destroy();
      };
      const timer = setTimeout(
        () =>
          fail(
            new EtsiClientError(
              'timeout',
              `${plan.method} ${plan.path} had no answer within ${this.timeoutMs} ms`,
            ),
          ),
        this.timeoutMs,
      );
      const body = plan.body === undefined ? undefined : Buffer.from(plan.body, 'utf8');
      try {
        request = https.request(
          {
            protocol: 'https:',
            hostname: this.origin.hostname.replace(/^\[|\]$/g, ''),
            port: this.origin.port || 443,
            path: `${this.prefix}${plan.path}`,
            method: plan.method,
            agent: this.agent,
            headers: {
              accept: 'application/json',
              ...(body && { 'content-type': 'application/json', 'content-length': body.length }),
            },
          },
          (response) => this.receive(response, resolve, fail, settle),
        );
      } catch (error) {
        // Thrown, not emitted, when the agent cannot build its TLS context (a wrong PKCS#12 passphrase, a key
        // that does not match its certificate): a failure of the connection all the same.
        fail(error as Error);
        return;
      }
      request.on('error', fail);
      request.end(body);
    });
  }

  /** Reads an answer up to the size bound. */
  private receive(
    response: http.IncomingMessage,
    resolve: (answer: Answer) => void,
    fail: (error: Error) => void,
    settle: (outcome: () => void) => void,
  ): void {
    const chunks: Buffer[] = [];
    let received = 0;
    response.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received > this.maxResponseBytes) {
        fail(new EtsiClientError('invalid-response', `the answer exceeds ${this.maxResponseBytes} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    response.on('end', () =>
      settle(() =>
        resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
      ),
    );
    response.on('error', (error) => fail(error));
    response.on('close', () => {
      if (!response.complete) fail(new Error('the connection closed before the answer was complete'));
    });
  }
}

/** The host check TLS makes anyway, and then the certificate's CN against the KME's ID. */
function kmeIdentityCheck(kmeId: string): (host: string, cert: PeerCertificate) => Error | undefined {
  return (host, cert) => {
    const hostMismatch = checkServerIdentity(host, cert);
    if (hostMismatch) return hostMismatch;
    const cn = cert.subject?.CN;
    return cn === kmeId ? undefined : new Error(`the KME's certificate names ${String(cn)}, not ${kmeId}`);
  };
}
