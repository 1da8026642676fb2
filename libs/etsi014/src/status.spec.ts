import { toEtsiResponse } from './errors';
import type { EtsiLimits } from './limits';
import { buildStatus, storedKeyCount, type StatusInput } from './status';

// The limits of the spec's example status (§6.1).
const LIMITS: EtsiLimits = {
  keySize: 352,
  minKeySize: 64,
  maxKeySize: 1024,
  maxKeyPerRequest: 128,
  maxKeyCount: 100000,
  maxSaeIdCount: 0,
  defaultTtlSeconds: 3600,
  maxTtlSeconds: 3600,
  maxKeyIdsPerRequest: 128,
};

const INPUT: StatusInput = {
  sourceKmeId: 'kme-east',
  targetKmeId: 'kme-west',
  masterSaeId: 'sae-alice',
  slaveSaeId: 'sae-bob',
  limits: LIMITS,
  storedKeyCount: 25000,
};

describe('buildStatus', () => {
  it('reports the link, its limits and its stored keys with the field names of Table 9', () => {
    expect(buildStatus(INPUT)).toEqual({
      ok: true,
      value: {
        source_KME_ID: 'kme-east',
        target_KME_ID: 'kme-west',
        master_SAE_ID: 'sae-alice',
        slave_SAE_ID: 'sae-bob',
        key_size: 352,
        stored_key_count: 25000,
        max_key_count: 100000,
        max_key_per_request: 128,
        max_key_size: 1024,
        min_key_size: 64,
        max_SAE_ID_count: 0,
      },
    });
  });

  it('adds status_extension only when given', () => {
    const result = buildStatus({ ...INPUT, statusExtension: { dqkd_max_ttl: 3600 } });
    expect(result).toMatchObject({ ok: true, value: { status_extension: { dqkd_max_ttl: 3600 } } });
    const plain = buildStatus(INPUT);
    expect(plain.ok && 'status_extension' in plain.value).toBe(false);
  });

  it('accepts a link at its limits', () => {
    const tight = { ...LIMITS, minKeySize: 352, maxKeySize: 352 };
    expect(buildStatus({ ...INPUT, limits: tight, storedKeyCount: 100000 }).ok).toBe(true);
    expect(buildStatus({ ...INPUT, storedKeyCount: 0 }).ok).toBe(true);
  });

  it.each([
    [
      'key_size below min_key_size',
      { limits: { ...LIMITS, keySize: 32 } },
      'min_key_size ≤ key_size ≤ max_key_size',
    ],
    [
      'key_size above max_key_size',
      { limits: { ...LIMITS, keySize: 2048 } },
      'min_key_size ≤ key_size ≤ max_key_size',
    ],
    [
      'more stored keys than max_key_count',
      { storedKeyCount: 100001 },
      '0 ≤ stored_key_count ≤ max_key_count',
    ],
    ['a negative stored key count', { storedKeyCount: -1 }, '0 ≤ stored_key_count ≤ max_key_count'],
    [
      'no keys allowed per request',
      { limits: { ...LIMITS, maxKeyPerRequest: 0 } },
      'max_key_per_request > 0',
    ],
  ])('answers 503 rather than a status with %s, which clients would reject', (_, change, invariant) => {
    const result = buildStatus({ ...INPUT, ...change });
    expect(result).toEqual({ ok: false, error: { kind: 'status-invariant-violated', invariant } });
    if (!result.ok) expect(toEtsiResponse(result.error).status).toBe(503);
  });
});

describe('storedKeyCount', () => {
  it('counts whole keys of the default size and stops at max_key_count', () => {
    expect(storedKeyCount(2047, { keySize: 256, maxKeyCount: 10 })).toBe(7);
    expect(storedKeyCount(256 * 50, { keySize: 256, maxKeyCount: 10 })).toBe(10);
  });
});
