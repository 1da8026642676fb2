import { Agent, request } from 'node:https';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';

import { open, type EntropySource, type LeasedSample, type SampleRef } from '@dqkd/blast';
import type { EntropyServer } from '@dqkd/config';
import { TLS_POLICY, type SealingIdentity, type TlsOptions } from '@dqkd/pki';

import {
  EntropyAnswerInvalid,
  EntropyServerMisidentified,
  EntropyServerUnreachable,
  EntropyServerUnverifiable,
  SampleRefused,
} from './errors';
import {
  decodeSamplePlaintext,
  isRefusalReason,
  LEASE_PATH,
  READ_PATH,
  refOf,
  type LeaseRequestBody,
  type ReadRequestBody,
  type SampleAnswerBody,
} from './protocol';

export const DEFAULT_TIMEOUT_MS = 10_000;
/** Below the entropy server's keep-alive timeout (10 s). */
const IDLE_SOCKET_MS = 4_000;
/**
 * Answers are a reference and one sealed sample in base64: the sample's bytes times 4/3, and this much for
 * the rest (envelope header, KEM ciphertext, signature, JSON). Anything larger is not an entropy server
 * talking.
 */
const ANSWER_OVERHEAD_BYTES = 64 * 1024;

/** The longest answer for a sample of `sampleBytes`: bounded by what was asked, whatever the network file allows. */
export function maxAnswerBytes(sampleBytes: number): number {
  return Math.ceil(sampleBytes / 3) * 4 + ANSWER_OVERHEAD_BYTES;
}

export interface EntropyServerClientOptions {
  /** The server as the network file describes it; its `sealing.sigPublicKey` verifies the samples. */
  readonly server: EntropyServer;
  /** This KME's client certificate and key, and the CA that issued the server's certificate. */
  readonly tls: TlsOptions;
  /** This KME's sealing identity: samples are sealed to it. */
  readonly identity: SealingIdentity;
  readonly timeoutMs?: number;
  /** UTC ms; the clock envelopes are checked against. */
  readonly now?: () => number;
}

class WrongServer extends Error {}

/**
 * One entropy server as a BLAST `EntropySource`, over HTTPS with this KME's client certificate. The
 * server's certificate must chain to the CA and carry the CN the network file names; every sample
 * must open with this KME's key, be signed by that server, and match its reference.
 */
export class RemoteEntropySource implements EntropySource {
  readonly serverId: string;
  private readonly agent: Agent;
  private readonly signingKey: Uint8Array | undefined;

  constructor(private readonly options: EntropyServerClientOptions) {
    const { server, tls } = options;
    this.serverId = server.id;
    // Checked per request rather than here, so a process whose network file lacks the keys still starts
    // (and reports every block it cannot make) instead of crashing at start-up.
    this.signingKey = server.sealing?.sigPublicKey;
    this.agent = new Agent({
      key: tls.key,
      cert: tls.cert,
      ca: tls.ca,
      keepAlive: true,
      // Idle connections are dropped here before the server's keep-alive timeout closes them, so a
      // request is never written to a socket the server is closing.
      timeout: IDLE_SOCKET_MS,
      ...TLS_POLICY,
      checkServerIdentity: (host: string, certificate: PeerCertificate) =>
        checkServerIdentity(host, certificate) ??
        (certificate.subject?.CN === server.certificateCn
          ? undefined
          : new WrongServer(
              `its certificate names "${String(certificate.subject?.CN)}", not "${server.certificateCn}"`,
            )),
    });
  }

  async lease(bytes: number, readers: readonly string[], deadline: number): Promise<LeasedSample> {
    const body: LeaseRequestBody = { bytes, readers, not_after: deadline };
    const answer = await this.post(LEASE_PATH, body, maxAnswerBytes(bytes));
    const ref = refOf(answer.ref);
    if (ref.serverId !== this.serverId || ref.length !== bytes || ref.notAfter > deadline) {
      throw new EntropyAnswerInvalid(this.serverId, 'the lease reference is not the one asked for');
    }
    return { ref, bytes: this.openSample(answer.sample, ref) };
  }

  async read(ref: SampleRef, leasedBy: string): Promise<Uint8Array> {
    const body: ReadRequestBody = {
      pool_id: ref.poolId,
      offset: ref.offset,
      length: ref.length,
      leased_by: leasedBy,
    };
    const answer = await this.post(READ_PATH, body, maxAnswerBytes(ref.length));
    const answered = refOf(answer.ref);
    if (
      answered.serverId !== this.serverId ||
      answered.poolId !== ref.poolId ||
      answered.offset !== ref.offset ||
      answered.length !== ref.length
    ) {
      throw new EntropyAnswerInvalid(this.serverId, 'the answer is for another sample');
    }
    return this.openSample(answer.sample, answered);
  }

  /** Closes kept-alive connections. */
  close(): void {
    this.agent.destroy();
  }

  private openSample(sample: string, ref: SampleRef): Uint8Array {
    let plaintext: Uint8Array;
    try {
      const opened = open(new Uint8Array(Buffer.from(sample, 'base64')), {
        self: this.options.identity.kmeId,
        recipientKemSecret: this.options.identity.kemSecretKey,
        senderSigPublicKeys: (id) => (id === this.serverId ? this.signingKey : undefined),
        now: (this.options.now ?? Date.now)(),
      });
      const { header } = opened;
      plaintext = opened.plaintext;
      if (header.kind !== 'sample' || header.subjectId !== ref.poolId || header.expiresAt !== ref.notAfter) {
        plaintext.fill(0);
        throw new EntropyAnswerInvalid(this.serverId, 'the sealed sample is bound to another reference');
      }
    } catch (error) {
      if (error instanceof EntropyAnswerInvalid) throw error;
      throw new EntropyAnswerInvalid(
        this.serverId,
        `the sealed sample does not open: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    const decoded = decodeSamplePlaintext(plaintext);
    if (!decoded || decoded.offset !== ref.offset || decoded.bytes.length !== ref.length) {
      plaintext.fill(0);
      throw new EntropyAnswerInvalid(this.serverId, 'the sealed sample does not match its reference');
    }
    const bytes = decoded.bytes.slice();
    plaintext.fill(0);
    return bytes;
  }

  private post(path: string, body: object, maxBytes: number): Promise<SampleAnswerBody> {
    if (!this.signingKey) {
      return Promise.reject(
        new EntropyServerUnverifiable(this.serverId, 'the network file gives it no public_keys'),
      );
    }
    const url = new URL(path, `${this.options.server.url}/`);
    const payload = JSON.stringify(body);
    const timeoutMs = this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    return new Promise<SampleAnswerBody>((resolveAnswer, rejectAnswer) => {
      // resolve and reject, below, are called only once the request runs: its callbacks and events come later.
      const outgoing = request(
        url,
        {
          method: 'POST',
          agent: this.agent,
          timeout: timeoutMs,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
        },
        (response) => {
          const chunks: Buffer[] = [];
          let size = 0;
          response.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > maxBytes) {
              response.destroy();
              reject(new EntropyAnswerInvalid(this.serverId, 'the answer is too large'));
            } else chunks.push(chunk);
          });
          response.on('error', (error) =>
            reject(new EntropyServerUnreachable(this.serverId, error.message, { cause: error })),
          );
          response.on('end', () => {
            try {
              resolve(this.answerOf(response.statusCode ?? 0, Buffer.concat(chunks).toString('utf8')));
            } catch (error) {
              reject(error);
            }
          });
        },
      );
      // Armed once there is a request (request() throws at once for a URL it cannot serve, which rejects this
      // promise). The socket's timeout fires only when it goes quiet; a server sending a byte now and then
      // would hold a block's generation as long as it liked. This one counts for the whole answer.
      const deadline = setTimeout(() => {
        reject(new EntropyServerUnreachable(this.serverId, `no whole answer within ${timeoutMs} ms`));
        outgoing.destroy();
      }, timeoutMs);
      const resolve = (answer: SampleAnswerBody) => (clearTimeout(deadline), resolveAnswer(answer));
      const reject = (error: unknown) => (clearTimeout(deadline), rejectAnswer(error));
      outgoing.on('timeout', () => outgoing.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      outgoing.on('error', (error) =>
        reject(
          error instanceof WrongServer
            ? new EntropyServerMisidentified(this.serverId, error.message, { cause: error })
            : new EntropyServerUnreachable(this.serverId, error.message, { cause: error }),
        ),
      );
      outgoing.end(payload);
    });
  }

  private answerOf(status: number, text: string): SampleAnswerBody {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new EntropyAnswerInvalid(this.serverId, `HTTP ${status} with a body that is not JSON`);
    }
    if (status !== 200) {
      const refusal = body as { error?: unknown; message?: unknown } | null;
      if (isRefusalReason(refusal?.error)) {
        throw new SampleRefused(this.serverId, refusal.error, String(refusal.message ?? ''));
      }
      throw new EntropyAnswerInvalid(this.serverId, `HTTP ${status} without a refusal reason`);
    }
    if (!isAnswer(body))
      throw new EntropyAnswerInvalid(this.serverId, 'the answer lacks a reference or a sample');
    return body;
  }
}

function isAnswer(body: unknown): body is SampleAnswerBody {
  const answer = body as Partial<SampleAnswerBody> | null;
  const ref = answer?.ref;
  return (
    typeof answer?.sample === 'string' &&
    typeof ref === 'object' &&
    ref !== null &&
    typeof ref.server_id === 'string' &&
    typeof ref.pool_id === 'string' &&
    [ref.offset, ref.length, ref.not_after].every(
      (value) => Number.isSafeInteger(value) && (value as number) >= 0,
    )
  );
}
