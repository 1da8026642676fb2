import { toEtsiResponse, type EtsiError, type EtsiErrorKind } from './errors';

// One error of every kind with the status it must map to; the Record makes a new kind fail to compile here.
const STATUS_OF: Record<EtsiErrorKind, [EtsiError, 400 | 401 | 503]> = {
  'body-not-object': [{ kind: 'body-not-object' }, 400],
  'invalid-member': [{ kind: 'invalid-member', member: 'number', expected: 'an integer' }, 400],
  'number-out-of-range': [{ kind: 'number-out-of-range', max: 128 }, 400],
  'size-not-multiple-of-8': [{ kind: 'size-not-multiple-of-8' }, 400],
  'size-out-of-range': [{ kind: 'size-out-of-range', min: 64, max: 1024 }, 400],
  'too-many-additional-slaves': [{ kind: 'too-many-additional-slaves', max: 2 }, 400],
  'duplicate-additional-slave': [{ kind: 'duplicate-additional-slave', saeId: 'sae-bob' }, 400],
  'duplicate-extension': [
    { kind: 'duplicate-extension', member: 'extension_mandatory', name: 'dqkd_ttl' },
    400,
  ],
  'unsupported-mandatory-extension': [{ kind: 'unsupported-mandatory-extension', names: ['x_route'] }, 400],
  'unmet-mandatory-extension': [
    { kind: 'unmet-mandatory-extension', name: 'dqkd_ttl', requirement: 'an integer from 1 to 3600' },
    400,
  ],
  'unexpected-query-parameter': [
    { kind: 'unexpected-query-parameter', route: 'enc_keys', parameter: 'ttl', accepted: ['number', 'size'] },
    400,
  ],
  'invalid-query-parameter': [
    { kind: 'invalid-query-parameter', parameter: 'size', expected: 'a decimal integer' },
    400,
  ],
  'too-many-key-ids': [{ kind: 'too-many-key-ids', max: 1024 }, 400],
  'duplicate-key-id': [{ kind: 'duplicate-key-id', keyId: 'bc490419-7d60-487f-adc1-4ddcc177c139' }, 400],
  'query-with-post': [{ kind: 'query-with-post', route: 'enc_keys' }, 400],
  'keys-not-found': [{ kind: 'keys-not-found' }, 400],
  'invalid-path-id': [{ kind: 'invalid-path-id', parameter: 'slave_SAE_ID', expected: 'printable' }, 400],
  'unknown-sae': [{ kind: 'unknown-sae', member: 'slave_SAE_ID', saeId: 'sae-nobody' }, 400],
  'slave-on-own-kme': [{ kind: 'slave-on-own-kme', member: 'slave_SAE_ID', saeId: 'sae-alice' }, 400],
  'slaves-on-several-kmes': [{ kind: 'slaves-on-several-kmes' }, 400],
  'body-not-json': [{ kind: 'body-not-json' }, 400],
  'body-too-large': [{ kind: 'body-too-large', max: 65536 }, 400],
  'body-incomplete': [{ kind: 'body-incomplete' }, 400],
  unauthenticated: [{ kind: 'unauthenticated' }, 401],
  'not-attached': [{ kind: 'not-attached' }, 401],
  'not-a-slave': [{ kind: 'not-a-slave' }, 401],
  'insufficient-key-material': [{ kind: 'insufficient-key-material' }, 503],
  'request-beyond-pool': [{ kind: 'request-beyond-pool', bits: 67108864, poolBits: 16777216 }, 503],
  'status-invariant-violated': [
    { kind: 'status-invariant-violated', invariant: 'min_key_size ≤ key_size ≤ max_key_size' },
    503,
  ],
  'rate-limited': [{ kind: 'rate-limited' }, 503],
  'keys-in-delivery': [{ kind: 'keys-in-delivery' }, 503],
  'server-error': [{ kind: 'server-error' }, 503],
};

describe('toEtsiResponse', () => {
  it.each(Object.entries(STATUS_OF))(
    'answers %s with its one status and a non-empty message',
    (_, [error, status]) => {
      const response = toEtsiResponse(error);
      expect(response.status).toBe(status);
      expect(typeof response.body.message).toBe('string');
      expect(response.body.message.length).toBeGreaterThan(0);
    },
  );

  it('gives every kind its own message', () => {
    const messages = Object.values(STATUS_OF).map(([error]) => toEtsiResponse(error).body.message);
    expect(new Set(messages).size).toBe(messages.length);
  });

  it('uses the spec message for a size that is not a multiple of 8', () => {
    expect(toEtsiResponse({ kind: 'size-not-multiple-of-8' })).toEqual({
      status: 400,
      body: { message: 'size shall be a multiple of 8' },
    });
  });

  it('uses the spec message and details for unsupported mandatory extensions, one detail per name', () => {
    expect(
      toEtsiResponse({ kind: 'unsupported-mandatory-extension', names: ['abc_route_type', 'abc_qos'] }),
    ).toEqual({
      status: 400,
      body: {
        message: 'not all extension_mandatory parameters are supported',
        details: [
          { extension_mandatory_unsupported: 'abc_route_type is not supported' },
          { extension_mandatory_unsupported: 'abc_qos is not supported' },
        ],
      },
    });
  });

  it('names at most 16 unsupported mandatory extensions and counts the rest', () => {
    const names = Array.from({ length: 1000 }, (_, i) => `x${i}`);
    const { details } = toEtsiResponse({ kind: 'unsupported-mandatory-extension', names }).body;
    expect(details).toHaveLength(17);
    expect(details?.[15]).toEqual({ extension_mandatory_unsupported: 'x15 is not supported' });
    expect(details?.[16]).toEqual({ extension_mandatory_unsupported: 'and 984 more' });
  });

  it('uses the spec message for a mandatory extension that cannot be met, naming the requirement', () => {
    expect(
      toEtsiResponse({
        kind: 'unmet-mandatory-extension',
        name: 'dqkd_ttl',
        requirement: 'an integer number of seconds from 1 to 3600',
      }),
    ).toEqual({
      status: 400,
      body: {
        message: 'not all extension_mandatory request options could be met',
        details: [
          { extension_mandatory_unmet: 'dqkd_ttl shall be an integer number of seconds from 1 to 3600' },
        ],
      },
    });
  });

  it('uses the spec message for keys that are not found', () => {
    expect(toEtsiResponse({ kind: 'keys-not-found' }).body).toEqual({
      message: 'one or more keys specified are not found on KME',
    });
  });

  it('names the member and what it shall be', () => {
    expect(
      toEtsiResponse({ kind: 'invalid-member', member: 'key_IDs[2].key_ID', expected: 'a UUID' }).body
        .message,
    ).toBe('key_IDs[2].key_ID shall be a UUID');
  });

  it('names the limit a request broke', () => {
    expect(toEtsiResponse({ kind: 'number-out-of-range', max: 128 }).body.message).toBe(
      'number shall be an integer from 1 to 128 (max_key_per_request)',
    );
    expect(toEtsiResponse({ kind: 'size-out-of-range', min: 64, max: 1024 }).body.message).toBe(
      'size shall be from 64 to 1024 bits (min_key_size to max_key_size)',
    );
    expect(toEtsiResponse({ kind: 'too-many-additional-slaves', max: 0 }).body.message).toMatch(
      /no multicast \(max_SAE_ID_count is 0\)/,
    );
  });

  it('tells a GET caller which query parameters the route takes', () => {
    expect(
      toEtsiResponse({
        kind: 'unexpected-query-parameter',
        route: 'enc_keys',
        parameter: 'ttl',
        accepted: ['number', 'size'],
      }).body.message,
    ).toBe(
      'GET enc_keys takes only the query parameters number and size, not "ttl"; send anything else with POST',
    );
  });

  it('carries a message on 401 too, for clients that parse every non-200 body', () => {
    expect(toEtsiResponse({ kind: 'not-a-slave' })).toEqual({
      status: 401,
      body: { message: 'the caller is not a slave SAE of every key requested' },
    });
  });

  it('echoes a caller value quoted and cut short, so a huge value cannot bloat the answer', () => {
    const message = toEtsiResponse({ kind: 'duplicate-additional-slave', saeId: 'x'.repeat(10_000) }).body
      .message;
    expect(message).toBe(`additional_slave_SAE_IDs shall not repeat an SAE ID: "${'x'.repeat(64)}…"`);
  });

  it("says so when additional_slave_SAE_IDs names the path's slave again, which the array alone does not repeat", () => {
    expect(toEtsiResponse({ kind: 'duplicate-additional-slave', saeId: 'sae-bob', ofPath: true })).toEqual({
      status: 400,
      body: { message: `additional_slave_SAE_IDs shall not name the path's slave_SAE_ID again: "sae-bob"` },
    });
  });

  it('escapes control characters of an echoed value', () => {
    const message = toEtsiResponse({ kind: 'unknown-sae', member: 'slave_SAE_ID', saeId: 'a\nb' }).body
      .message;
    expect(message).toBe('slave_SAE_ID "a\\nb" is not an SAE of this network');
  });
});
