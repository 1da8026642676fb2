import type { RefusalReason } from './protocol';

/**
 * What can go wrong talking to one entropy server, as values: BLAST's generator wraps any of them in
 * `EntropyUnavailable` (with this as `cause`), so a block is never made from fewer servers.
 */
export abstract class EntropyClientError extends Error {
  abstract readonly code: string;

  constructor(
    readonly serverId: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`entropy server ${serverId}: ${message}`, options);
    this.name = new.target.name;
  }
}

/** The server answered and said no: the reason is one of the protocol's refusal reasons. */
export class SampleRefused extends EntropyClientError {
  readonly code = 'sample-refused';

  constructor(
    serverId: string,
    readonly reason: RefusalReason,
    message: string,
  ) {
    super(serverId, `refused (${reason}): ${message}`);
  }
}

/** No answer: connection refused or reset, TLS handshake failed, timeout. */
export class EntropyServerUnreachable extends EntropyClientError {
  readonly code = 'entropy-server-unreachable';
}

/** The peer is not the entropy server the network file names (certificate CN). */
export class EntropyServerMisidentified extends EntropyClientError {
  readonly code = 'entropy-server-misidentified';
}

/**
 * An answer that does not hold what was asked: malformed JSON, a reference other than the one asked
 * for, or a sealed sample that does not open (wrong signer, altered, expired) or does not match its reference.
 */
export class EntropyAnswerInvalid extends EntropyClientError {
  readonly code = 'entropy-answer-invalid';
}

/** The network file gives this server no signing key, so its samples could not be verified. */
export class EntropyServerUnverifiable extends EntropyClientError {
  readonly code = 'entropy-server-unverifiable';
}
