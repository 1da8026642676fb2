import type { JsonObject, Status } from './dto';
import type { EtsiLimits } from './limits';
import { fail, ok, type Result } from './result';

export interface StatusInput {
  readonly sourceKmeId: string;
  readonly targetKmeId: string;
  readonly masterSaeId: string;
  readonly slaveSaeId: string;
  readonly limits: EtsiLimits;
  /** Keys of the default size the link's ready pool could give now (see storedKeyCount). */
  readonly storedKeyCount: number;
  readonly statusExtension?: JsonObject;
}

/**
 * Keys of the default size a ready pool of `readyBits` could give now, as status' stored_key_count says it; a
 * pool larger than max_key_count still shows the cap. The pool metrics use the same count.
 */
export function storedKeyCount(
  readyBits: number,
  limits: Pick<EtsiLimits, 'keySize' | 'maxKeyCount'>,
): number {
  return Math.min(limits.maxKeyCount, Math.floor(readyBits / limits.keySize));
}

/**
 * The Status answer (Table 9). Clients check its invariants and may refuse a KME that breaks one, so an
 * inconsistent status is a server error rather than an answer.
 */
export function buildStatus(input: StatusInput): Result<Status> {
  const { limits, storedKeyCount } = input;
  const broken = (invariant: string): Result<Status> =>
    fail({ kind: 'status-invariant-violated', invariant });
  if (!(limits.minKeySize <= limits.keySize && limits.keySize <= limits.maxKeySize)) {
    return broken('min_key_size ≤ key_size ≤ max_key_size');
  }
  if (!(
    Number.isSafeInteger(storedKeyCount) &&
    storedKeyCount >= 0 &&
    storedKeyCount <= limits.maxKeyCount
  )) {
    return broken('0 ≤ stored_key_count ≤ max_key_count');
  }
  if (!(limits.maxKeyPerRequest > 0)) return broken('max_key_per_request > 0');
  return ok({
    source_KME_ID: input.sourceKmeId,
    target_KME_ID: input.targetKmeId,
    master_SAE_ID: input.masterSaeId,
    slave_SAE_ID: input.slaveSaeId,
    key_size: limits.keySize,
    stored_key_count: storedKeyCount,
    max_key_count: limits.maxKeyCount,
    max_key_per_request: limits.maxKeyPerRequest,
    max_key_size: limits.maxKeySize,
    min_key_size: limits.minKeySize,
    max_SAE_ID_count: limits.maxSaeIdCount,
    ...(input.statusExtension && { status_extension: input.statusExtension }),
  });
}
