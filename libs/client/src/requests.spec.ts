import { EtsiClientError } from './errors';
import { decKeysRequest, encKeysRequest, statusRequest, toKeyIds } from './requests';

const ID_1 = 'bc490419-7d60-487f-adc1-4ddcc177c139';
const ID_2 = '0a782fb5-3434-48fe-aa4d-14f41d46cf92';

function refusal(plan: () => unknown): EtsiClientError {
  try {
    plan();
  } catch (error) {
    if (error instanceof EtsiClientError) return error;
    throw error;
  }
  throw new Error('expected the request to be refused');
}

describe('statusRequest', () => {
  it('GETs the status of the URL-encoded slave SAE ID', () => {
    expect(statusRequest('sae bob/west?')).toEqual({
      method: 'GET',
      path: '/api/v1/keys/sae%20bob%2Fwest%3F/status',
    });
  });
});

describe('encKeysRequest', () => {
  it('POSTs the whole request as JSON', () => {
    const request = { number: 2, size: 512, extension_mandatory: [{ dqkd_ttl: 60 }] };
    expect(encKeysRequest('sae-bob', request, 'POST')).toEqual({
      method: 'POST',
      path: '/api/v1/keys/sae-bob/enc_keys',
      body: JSON.stringify(request),
    });
  });

  it('puts number and size in the query of a GET', () => {
    expect(encKeysRequest('sae-bob', { number: 3, size: 1024 }, 'GET')).toEqual({
      method: 'GET',
      path: '/api/v1/keys/sae-bob/enc_keys?number=3&size=1024',
    });
  });

  it('sends a GET without a query when the request is empty', () => {
    expect(encKeysRequest('sae-bob', {}, 'GET')).toEqual({
      method: 'GET',
      path: '/api/v1/keys/sae-bob/enc_keys',
    });
  });

  it('takes members set to undefined as absent in a GET, as JSON does in a POST', () => {
    expect(
      encKeysRequest(
        'sae-bob',
        { number: 2, additional_slave_SAE_IDs: undefined, extension_mandatory: undefined },
        'GET',
      ),
    ).toEqual({ method: 'GET', path: '/api/v1/keys/sae-bob/enc_keys?number=2' });
  });

  it('refuses a GET that would drop members other than number and size', () => {
    const error = refusal(() =>
      encKeysRequest('sae-bob', { number: 1, additional_slave_SAE_IDs: ['x'] }, 'GET'),
    );
    expect(error.code).toBe('invalid-request');
    expect(error.message).toBe(
      'GET enc_keys carries only number and size; send additional_slave_SAE_IDs with POST',
    );
  });
});

describe('decKeysRequest', () => {
  it('POSTs plain key IDs in the Key IDs format', () => {
    expect(decKeysRequest('sae-alice', [ID_1, ID_2], 'POST')).toEqual({
      method: 'POST',
      path: '/api/v1/keys/sae-alice/dec_keys',
      body: JSON.stringify({ key_IDs: [{ key_ID: ID_1 }, { key_ID: ID_2 }] }),
    });
  });

  it('POSTs a full Key IDs object as it is', () => {
    const keyIds = { key_IDs: [{ key_ID: ID_1, key_ID_extension: { a: 1 } }], key_IDs_extension: { b: 2 } };
    expect(decKeysRequest('sae-alice', keyIds, 'POST').body).toBe(JSON.stringify(keyIds));
  });

  it('GETs one key by key_ID', () => {
    expect(decKeysRequest('sae alice', [ID_1], 'GET')).toEqual({
      method: 'GET',
      path: `/api/v1/keys/sae%20alice/dec_keys?key_ID=${ID_1}`,
    });
  });

  it.each([
    ['two keys', [ID_1, ID_2]],
    ['no key', []],
    ['a key with an extension', { key_IDs: [{ key_ID: ID_1, key_ID_extension: {} }] }],
    ['a list extension', { key_IDs: [{ key_ID: ID_1 }], key_IDs_extension: {} }],
  ])('refuses a GET for %s', (_, keyIds) => {
    expect(refusal(() => decKeysRequest('sae-alice', keyIds, 'GET')).code).toBe('invalid-request');
  });
});

describe('toKeyIds', () => {
  it('wraps plain IDs and keeps a Key IDs object', () => {
    expect(toKeyIds([ID_1])).toEqual({ key_IDs: [{ key_ID: ID_1 }] });
    const keyIds = { key_IDs: [{ key_ID: ID_2 }] };
    expect(toKeyIds(keyIds)).toBe(keyIds);
  });
});
