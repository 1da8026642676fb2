import { toEtsiResponse } from './errors';
import { parseDecKeysBody, parseDecKeysQuery } from './key-ids';
import type { EtsiLimits } from './limits';
import type { Result } from './result';

const LIMITS: EtsiLimits = {
  keySize: 256,
  minKeySize: 64,
  maxKeySize: 1024,
  maxKeyPerRequest: 128,
  maxKeyCount: 100000,
  maxSaeIdCount: 2,
  defaultTtlSeconds: 3600,
  maxTtlSeconds: 3600,
  maxKeyIdsPerRequest: 3,
};

const ID_1 = 'bc490419-7d60-487f-adc1-4ddcc177c139';
const ID_2 = '0a782fb5-3434-48fe-aa4d-14f41d46cf92';
const UUID_RULE = 'a UUID in its canonical textual form (RFC 4122)';

function answer(result: Result<unknown>): { status: number; message: string } {
  if (result.ok) throw new Error(`expected an error, got ${JSON.stringify(result.value)}`);
  const { status, body } = toEtsiResponse(result.error);
  return { status, message: body.message };
}

describe('dec_keys POST body', () => {
  it('takes the key IDs in the order asked', () => {
    expect(parseDecKeysBody({ key_IDs: [{ key_ID: ID_1 }, { key_ID: ID_2 }] }, LIMITS)).toEqual({
      ok: true,
      value: { keyIds: [ID_1, ID_2] },
    });
  });

  it('spells key IDs in lower case whatever case they came in', () => {
    expect(parseDecKeysBody({ key_IDs: [{ key_ID: ID_1.toUpperCase() }] }, LIMITS)).toEqual({
      ok: true,
      value: { keyIds: [ID_1] },
    });
  });

  it('accepts extensions and unknown members, in entries and at the top', () => {
    const body = {
      key_IDs: [{ key_ID: ID_1, key_ID_extension: { abc: 1 }, master_SAE_ID: 'sae-alice' }],
      key_IDs_extension: {},
      note: 'x',
    };
    expect(parseDecKeysBody(body, LIMITS)).toEqual({ ok: true, value: { keyIds: [ID_1] } });
  });

  it.each([null, [], 'x'])('answers 400 when the body is %j', (body) => {
    expect(answer(parseDecKeysBody(body, LIMITS))).toEqual({
      status: 400,
      message: 'the request body shall be a JSON object',
    });
  });

  it.each([
    ['missing', {}],
    ['empty', { key_IDs: [] }],
    ['an object', { key_IDs: { key_ID: ID_1 } }],
    ['a string', { key_IDs: ID_1 }],
  ])('answers 400 when key_IDs is %s', (_, body) => {
    expect(answer(parseDecKeysBody(body, LIMITS))).toEqual({
      status: 400,
      message: 'key_IDs shall be a non-empty array',
    });
  });

  it('answers 400 when key_IDs lists more keys than the limit', () => {
    const body = { key_IDs: [ID_1, ID_2, ID_1, ID_2].map((key_ID) => ({ key_ID })) };
    expect(answer(parseDecKeysBody(body, LIMITS))).toEqual({
      status: 400,
      message: 'key_IDs shall list at most 3 keys',
    });
  });

  it('answers 400 naming the entry that is not an object', () => {
    expect(answer(parseDecKeysBody({ key_IDs: [{ key_ID: ID_1 }, ID_2] }, LIMITS)).message).toBe(
      'key_IDs[1] shall be an object',
    );
  });

  it.each([
    ['missing', {}],
    ['not a UUID', { key_ID: 'key-1' }],
    ['a UUID in braces', { key_ID: `{${ID_1}}` }],
    ['a number', { key_ID: 1 }],
  ])('answers 400 naming the entry whose key_ID is %s', (_, entry) => {
    expect(answer(parseDecKeysBody({ key_IDs: [{ key_ID: ID_1 }, entry] }, LIMITS))).toEqual({
      status: 400,
      message: `key_IDs[1].key_ID shall be ${UUID_RULE}`,
    });
  });

  it('answers 400 when a key_ID repeats, also in another letter case', () => {
    expect(
      answer(parseDecKeysBody({ key_IDs: [{ key_ID: ID_1 }, { key_ID: ID_1.toUpperCase() }] }, LIMITS)),
    ).toEqual({
      status: 400,
      message: `key_IDs shall not repeat a key_ID: "${ID_1.toUpperCase()}"`,
    });
  });

  it('answers 400 when an extension is not an object', () => {
    expect(
      answer(parseDecKeysBody({ key_IDs: [{ key_ID: ID_1 }], key_IDs_extension: [] }, LIMITS)).message,
    ).toBe('key_IDs_extension shall be an object');
    expect(
      answer(parseDecKeysBody({ key_IDs: [{ key_ID: ID_1, key_ID_extension: 'x' }] }, LIMITS)).message,
    ).toBe('key_IDs[0].key_ID_extension shall be an object');
  });
});

describe('dec_keys GET query', () => {
  it('takes exactly one key_ID', () => {
    expect(parseDecKeysQuery(new URLSearchParams(`key_ID=${ID_1.toUpperCase()}`))).toEqual({
      ok: true,
      value: { keyIds: [ID_1] },
    });
  });

  it('answers 400 when key_ID is missing', () => {
    expect(answer(parseDecKeysQuery(new URLSearchParams('')))).toEqual({
      status: 400,
      message: 'query parameter key_ID shall be given, the ID of the key to fetch',
    });
  });

  it('answers 400 when key_ID repeats, since two keys need POST', () => {
    expect(answer(parseDecKeysQuery(new URLSearchParams(`key_ID=${ID_1}&key_ID=${ID_2}`))).message).toBe(
      'query parameter key_ID shall be given once',
    );
  });

  it('answers 400 when key_ID is not a UUID', () => {
    expect(answer(parseDecKeysQuery({ key_ID: 'key-1' })).message).toBe(
      `query parameter key_ID shall be ${UUID_RULE}`,
    );
  });

  it('answers 400 for any other query parameter', () => {
    expect(answer(parseDecKeysQuery({ key_ID: ID_1, master_SAE_ID: 'sae-alice' }))).toEqual({
      status: 400,
      message:
        'GET dec_keys takes only the query parameters key_ID, not "master_SAE_ID"; send anything else with POST',
    });
  });
});
