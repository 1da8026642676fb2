/**
 * Every failure the bus reports is one of these, so callers branch on `kind`
 * (or `instanceof`) instead of parsing messages from NATS.
 */
export type BusErrorKind =
  'closed' | 'config' | 'provision' | 'register' | 'no-stream' | 'publish' | 'unavailable' | 'settle';

export abstract class BusError extends Error {
  abstract readonly kind: BusErrorKind;
}

export class BusClosedError extends BusError {
  readonly kind = 'closed';
  constructor(what = 'the bus') {
    super(`${what} is closed`);
  }
}

/** A stream, consumer or connection description that can never work. */
export class BusConfigError extends BusError {
  readonly kind = 'config';
  constructor(
    readonly field: string,
    readonly problem: string,
  ) {
    super(`${field} ${problem}`);
  }
}

/** The server refused to create or update a stream or consumer. */
export class BusProvisionError extends BusError {
  readonly kind = 'provision';
  constructor(
    readonly resource: string,
    options?: ErrorOptions,
  ) {
    super(`could not provision ${resource}`, options);
  }
}

/** The site's record of the streams its peers copy (see StreamRegister) could not be read or written. */
export class StreamRegisterError extends BusError {
  readonly kind = 'register';
  constructor(
    readonly stream: string,
    options?: ErrorOptions,
  ) {
    const cause = options?.cause instanceof Error ? `: ${options.cause.message}` : '';
    super(`the record of the streams the peers copy failed for ${stream}${cause}`, options);
  }
}

export class NoStreamError extends BusError {
  readonly kind = 'no-stream';
  constructor(
    readonly subject: string,
    options?: ErrorOptions,
  ) {
    super(`no stream stores subject ${subject} (or JetStream is not available)`, options);
  }
}

/** The publish may or may not have been stored; retry with the same msgId. */
export class PublishFailedError extends BusError {
  readonly kind = 'publish';
  constructor(
    readonly subject: string,
    options?: ErrorOptions,
  ) {
    super(`publish to ${subject} was not confirmed`, options);
  }
}

/** The ack, nak or term was not confirmed, so the message may be delivered again. */
export class SettleFailedError extends BusError {
  readonly kind = 'settle';
  constructor(
    readonly action: 'ack' | 'nak' | 'term',
    readonly subject: string,
    options?: ErrorOptions,
  ) {
    super(`${action} of a message on ${subject} was not confirmed`, options);
  }
}

export class BusUnavailableError extends BusError {
  readonly kind = 'unavailable';
  constructor(
    readonly servers: string,
    options?: ErrorOptions,
  ) {
    super(`could not connect to NATS at ${servers}`, options);
  }
}
