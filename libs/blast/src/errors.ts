/**
 * Every refusal in BLAST is a value of one of these classes, so callers branch on the type
 * (and map it to one alarm, one acknowledgement or one ETSI status) instead of parsing messages.
 * Messages name what was wrong, never any key material.
 */
export abstract class BlastError extends Error {
  abstract readonly code: string;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A caller passed parameters outside what BLAST supports (a programming or configuration error). */
export class BlastParameterInvalid extends BlastError {
  readonly code = 'blast-parameter-invalid';
}

/** Samples to combine were fewer than two or of different lengths. */
export class SampleMismatch extends BlastError {
  readonly code = 'sample-mismatch';
}

/** An entropy server failed, refused or answered with the wrong amount; the block cannot be made. */
export class EntropyUnavailable extends BlastError {
  readonly code = 'entropy-unavailable';
  /** Why the other servers asked at the same time failed, if they did. */
  readonly otherCauses: readonly unknown[];
  /**
   * How many of the servers asked at the same time answered. Reading a sample for the second time spends it,
   * so a block whose regeneration got this far can never be regenerated.
   */
  readonly answered: number;

  constructor(
    readonly serverId: string,
    message: string,
    options: { cause?: unknown; otherCauses?: readonly unknown[]; answered?: number } = {},
  ) {
    super(`entropy server ${serverId}: ${message}`, { cause: options.cause });
    this.otherCauses = options.otherCauses ?? [];
    this.answered = options.answered ?? 0;
  }
}

/** The regenerated block's check value differs from the one in the metadata: an alarm, never a retry. */
export class KcvMismatch extends BlastError {
  readonly code = 'kcv-mismatch';

  constructor(readonly blockId: string) {
    super(`check value of block ${blockId} does not match`);
  }
}

export type MetadataFault = 'unsupported-version' | 'truncated' | 'trailing-bytes' | 'invalid-field';

/** Encoded metadata that this version cannot read or that breaks its own rules. */
export class MetadataMalformed extends BlastError {
  readonly code = 'metadata-malformed';

  constructor(
    readonly fault: MetadataFault,
    detail: string,
  ) {
    super(`metadata ${fault}: ${detail}`);
  }
}

/** Common parent so a replication inbox can refuse any bad envelope in one branch. */
export abstract class EnvelopeError extends BlastError {}

/** The bytes do not parse as an envelope of a known version, or its content is not of the kind expected. */
export class EnvelopeMalformed extends EnvelopeError {
  readonly code = 'envelope-malformed';
}

/**
 * The signature does not verify under the signing key registered for the header's source, or that
 * source has no key. Any byte altered after signing, and any envelope signed by someone else, ends here.
 */
export class EnvelopeBadSignature extends EnvelopeError {
  readonly code = 'envelope-bad-signature';
}

/** Authentically signed, but addressed to another KME. */
export class EnvelopeMisaddressed extends EnvelopeError {
  readonly code = 'envelope-misaddressed';
}

/** Authentically signed and addressed to us, but past its expiry. */
export class EnvelopeExpired extends EnvelopeError {
  readonly code = 'envelope-expired';
}

/**
 * Authentically signed and addressed to us, yet the sealed content does not decrypt (or does not
 * match its header): it was altered before signing or sealed to a KEM key we do not hold.
 */
export class EnvelopeTampered extends EnvelopeError {
  readonly code = 'envelope-tampered';
}
