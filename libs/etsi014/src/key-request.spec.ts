import { toEtsiResponse } from './errors';
import { parseEncKeysBody, parseEncKeysQuery } from './key-request';
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
  maxKeyIdsPerRequest: 128,
};

/** The answer a failed parse gives at the edge: status and message are what SAEs see. */
function answer(result: Result<unknown>): { status: number; message: string; details?: unknown } {
  if (result.ok) throw new Error(`expected an error, got ${JSON.stringify(result.value)}`);
  const { status, body } = toEtsiResponse(result.error);
  return { status, ...body };
}

describe('enc_keys POST body', () => {
  it('asks for one key of the default size and TTL when the body is {}', () => {
    expect(parseEncKeysBody({}, LIMITS)).toEqual({
      ok: true,
      value: { number: 1, size: 256, additionalSlaveSaeIds: [], ttlSeconds: 3600 },
    });
  });

  it('takes every member of Table 10', () => {
    expect(
      parseEncKeysBody(
        {
          number: 3,
          size: 1024,
          additional_slave_SAE_IDs: ['sae-carol', 'sae-dave'],
          extension_mandatory: [{ dqkd_ttl: 600 }],
          extension_optional: [],
        },
        LIMITS,
      ),
    ).toEqual({
      ok: true,
      value: { number: 3, size: 1024, additionalSlaveSaeIds: ['sae-carol', 'sae-dave'], ttlSeconds: 600 },
    });
  });

  it('ignores members the spec does not define, __proto__ included', () => {
    const body: unknown = JSON.parse('{"number":2,"vendor_hint":"x","__proto__":{"size":7}}');
    expect(parseEncKeysBody(body, LIMITS)).toEqual({
      ok: true,
      value: { number: 2, size: 256, additionalSlaveSaeIds: [], ttlSeconds: 3600 },
    });
  });

  it.each([
    ['null', null],
    ['an array', [{ number: 1 }]],
    ['a string', '{"number":1}'],
    ['a number', 3],
  ])('answers 400 when the body is %s', (_, body) => {
    expect(answer(parseEncKeysBody(body, LIMITS))).toEqual({
      status: 400,
      message: 'the request body shall be a JSON object',
    });
  });

  it.each([
    ['a string', '3'],
    ['a fraction', 1.5],
    ['a boolean', true],
    ['null', null],
  ])('answers 400 when number is %s', (_, number) => {
    expect(answer(parseEncKeysBody({ number }, LIMITS))).toEqual({
      status: 400,
      message: 'number shall be an integer',
    });
  });

  it.each([0, -1, 129, 2 ** 53, 1e20, -1e20])(
    'answers 400 when number is %d, outside 1 to max_key_per_request',
    (number) => {
      expect(answer(parseEncKeysBody({ number }, LIMITS))).toEqual({
        status: 400,
        message: 'number shall be an integer from 1 to 128 (max_key_per_request)',
      });
    },
  );

  it('accepts number equal to max_key_per_request', () => {
    expect(parseEncKeysBody({ number: 128 }, LIMITS)).toMatchObject({ ok: true, value: { number: 128 } });
  });

  it('answers 400 when size is not an integer', () => {
    expect(answer(parseEncKeysBody({ size: '256' }, LIMITS)).message).toBe('size shall be an integer');
  });

  it.each([7, 100, 1023])('answers 400 when size %i is not a multiple of 8', (size) => {
    expect(answer(parseEncKeysBody({ size }, LIMITS))).toEqual({
      status: 400,
      message: 'size shall be a multiple of 8',
    });
  });

  it.each([0, 56, 1032, -64])('answers 400 when size %i is outside min_key_size to max_key_size', (size) => {
    expect(answer(parseEncKeysBody({ size }, LIMITS))).toEqual({
      status: 400,
      message: 'size shall be from 64 to 1024 bits (min_key_size to max_key_size)',
    });
  });

  it('accepts sizes at both limits', () => {
    expect(parseEncKeysBody({ size: 64 }, LIMITS).ok).toBe(true);
    expect(parseEncKeysBody({ size: 1024 }, LIMITS).ok).toBe(true);
  });

  describe('additional_slave_SAE_IDs', () => {
    it('answers 400 when it is not an array', () => {
      expect(answer(parseEncKeysBody({ additional_slave_SAE_IDs: 'sae-carol' }, LIMITS)).message).toBe(
        'additional_slave_SAE_IDs shall be an array of SAE IDs',
      );
    });

    it.each([
      ['an empty string', ''],
      ['a number', 7],
      ['null', null],
      ['a control character', 'sae\u0000carol'],
    ])('answers 400 naming the entry when one is %s', (_, saeId) => {
      expect(answer(parseEncKeysBody({ additional_slave_SAE_IDs: ['sae-carol', saeId] }, LIMITS))).toEqual({
        status: 400,
        message:
          'additional_slave_SAE_IDs[1] shall be a non-empty printable string of at most 256 characters',
      });
    });

    it('answers 400 when an SAE ID repeats', () => {
      expect(
        answer(parseEncKeysBody({ additional_slave_SAE_IDs: ['sae-carol', 'sae-carol'] }, LIMITS)),
      ).toEqual({
        status: 400,
        message: 'additional_slave_SAE_IDs shall not repeat an SAE ID: "sae-carol"',
      });
    });

    it('answers 400 when it names more SAEs than max_SAE_ID_count', () => {
      expect(answer(parseEncKeysBody({ additional_slave_SAE_IDs: ['a', 'b', 'c'] }, LIMITS))).toEqual({
        status: 400,
        message: 'additional_slave_SAE_IDs shall name at most 2 SAE IDs (max_SAE_ID_count)',
      });
    });

    it('answers 400 for any additional slave on a link without multicast, but accepts an empty list', () => {
      const unicast = { ...LIMITS, maxSaeIdCount: 0 };
      expect(answer(parseEncKeysBody({ additional_slave_SAE_IDs: ['a'] }, unicast)).status).toBe(400);
      expect(parseEncKeysBody({ additional_slave_SAE_IDs: [] }, unicast).ok).toBe(true);
    });
  });

  describe('extensions', () => {
    it.each(['extension_mandatory', 'extension_optional'])('answers 400 when %s is not an array', (name) => {
      expect(answer(parseEncKeysBody({ [name]: { dqkd_ttl: 60 } }, LIMITS))).toEqual({
        status: 400,
        message: `${name} shall be an array of objects`,
      });
    });

    it.each([null, 'dqkd_ttl', [{ dqkd_ttl: 60 }]])(
      'answers 400 when an extension is %j, not an object',
      (item) => {
        expect(answer(parseEncKeysBody({ extension_optional: [{}, item] }, LIMITS)).message).toBe(
          'extension_optional[1] shall be an object',
        );
      },
    );

    it('answers 400 when extension_mandatory names an extension twice', () => {
      expect(
        answer(parseEncKeysBody({ extension_mandatory: [{ dqkd_ttl: 60 }, { dqkd_ttl: 70 }] }, LIMITS))
          .message,
      ).toBe('extension_mandatory shall not repeat an extension name: "dqkd_ttl"');
    });

    // The spec's answer to an unknown mandatory extension comes first, whatever else is wrong with the list.
    it('answers an unknown mandatory extension named twice as unknown', () => {
      for (const extension_mandatory of [
        [{ abc_qos: 1 }, { abc_qos: 2 }],
        [{ dqkd_ttl: 60 }, { dqkd_ttl: 70 }, { abc_qos: 1 }],
      ]) {
        expect(answer(parseEncKeysBody({ extension_mandatory }, LIMITS)).message).toBe(
          'not all extension_mandatory parameters are supported',
        );
      }
    });

    it('ignores an optional extension named twice, known or not, and answers normally', () => {
      const body = { extension_optional: [{ abc_qos: 1, dqkd_ttl: 60 }, { abc_qos: 2 }, { dqkd_ttl: 70 }] };
      expect(parseEncKeysBody(body, LIMITS)).toEqual({
        ok: true,
        value: { number: 1, size: 256, additionalSlaveSaeIds: [], ttlSeconds: 3600 },
      });
    });

    it('answers 400 with the spec message and details for an unknown mandatory extension', () => {
      expect(
        answer(parseEncKeysBody({ extension_mandatory: [{ abc_route_type: 'direct' }] }, LIMITS)),
      ).toEqual({
        status: 400,
        message: 'not all extension_mandatory parameters are supported',
        details: [{ extension_mandatory_unsupported: 'abc_route_type is not supported' }],
      });
    });

    it('names every unknown mandatory extension, also several in one object', () => {
      const body = { extension_mandatory: [{ dqkd_ttl: 60, abc_route_type: 'direct' }, { abc_qos: 1 }] };
      expect(answer(parseEncKeysBody(body, LIMITS)).details).toEqual([
        { extension_mandatory_unsupported: 'abc_route_type is not supported' },
        { extension_mandatory_unsupported: 'abc_qos is not supported' },
      ]);
    });

    it('ignores an unknown optional extension and answers normally', () => {
      expect(parseEncKeysBody({ extension_optional: [{ abc_route_type: 'direct' }] }, LIMITS)).toEqual({
        ok: true,
        value: { number: 1, size: 256, additionalSlaveSaeIds: [], ttlSeconds: 3600 },
      });
    });
  });

  describe('dqkd_ttl', () => {
    const ttlOf = (body: unknown, limits: EtsiLimits = LIMITS): number => {
      const result = parseEncKeysBody(body, limits);
      if (!result.ok) throw new Error(`refused: ${JSON.stringify(result.error)}`);
      return result.value.ttlSeconds;
    };

    it('defaults to the link default', () => {
      expect(ttlOf({}, { ...LIMITS, defaultTtlSeconds: 900 })).toBe(900);
    });

    it('takes a mandatory TTL from 1 to the maximum', () => {
      expect(ttlOf({ extension_mandatory: [{ dqkd_ttl: 1 }] })).toBe(1);
      expect(ttlOf({ extension_mandatory: [{ dqkd_ttl: 3600 }] })).toBe(3600);
    });

    it.each([0, 3601, -5, 1.5, '60', null])(
      'answers 400 with the spec message when a mandatory TTL is %j',
      (dqkd_ttl) => {
        expect(answer(parseEncKeysBody({ extension_mandatory: [{ dqkd_ttl }] }, LIMITS))).toEqual({
          status: 400,
          message: 'not all extension_mandatory request options could be met',
          details: [
            { extension_mandatory_unmet: 'dqkd_ttl shall be an integer number of seconds from 1 to 3600' },
          ],
        });
      },
    );

    it("holds a mandatory TTL to the link's own lower maximum", () => {
      const short = { ...LIMITS, maxTtlSeconds: 600 };
      expect(ttlOf({ extension_mandatory: [{ dqkd_ttl: 600 }] }, short)).toBe(600);
      expect(answer(parseEncKeysBody({ extension_mandatory: [{ dqkd_ttl: 601 }] }, short)).details).toEqual([
        { extension_mandatory_unmet: 'dqkd_ttl shall be an integer number of seconds from 1 to 600' },
      ]);
    });

    it('never grants more than one hour, whatever the limits say', () => {
      expect(ttlOf({ extension_optional: [{ dqkd_ttl: 7200 }] }, { ...LIMITS, maxTtlSeconds: 7200 })).toBe(
        3600,
      );
    });

    it('clamps an optional TTL out of range into range', () => {
      expect(ttlOf({ extension_optional: [{ dqkd_ttl: 0 }] })).toBe(1);
      expect(ttlOf({ extension_optional: [{ dqkd_ttl: -30 }] })).toBe(1);
      expect(ttlOf({ extension_optional: [{ dqkd_ttl: 86400 }] })).toBe(3600);
      expect(ttlOf({ extension_optional: [{ dqkd_ttl: 120 }] })).toBe(120);
      // Whole numbers beyond the safe integers are out of range too, not ignored.
      expect(ttlOf({ extension_optional: [{ dqkd_ttl: -1e16 }] })).toBe(1);
      expect(ttlOf({ extension_optional: [{ dqkd_ttl: 1e300 }] })).toBe(3600);
      // And those JSON.parse makes infinite: clamped, not ignored for the link's shorter default.
      const shortDefault = { ...LIMITS, defaultTtlSeconds: 60 };
      expect(ttlOf(JSON.parse('{"extension_optional": [{"dqkd_ttl": 1e400}]}'), shortDefault)).toBe(3600);
      expect(ttlOf(JSON.parse('{"extension_optional": [{"dqkd_ttl": -1e400}]}'), shortDefault)).toBe(1);
    });

    it('ignores an optional TTL that is not an integer', () => {
      expect(ttlOf({ extension_optional: [{ dqkd_ttl: '120' }] })).toBe(3600);
      expect(ttlOf({ extension_optional: [{ dqkd_ttl: 12.5 }] })).toBe(3600);
    });

    it('prefers a mandatory TTL to an optional one', () => {
      expect(
        ttlOf({ extension_mandatory: [{ dqkd_ttl: 60 }], extension_optional: [{ dqkd_ttl: 120 }] }),
      ).toBe(60);
    });

    it('reads the TTL from an object that holds other extensions too', () => {
      expect(ttlOf({ extension_optional: [{ abc_qos: 'gold', dqkd_ttl: 300 }] })).toBe(300);
    });
  });
});

describe('enc_keys GET query', () => {
  it('asks for one key of the default size when there are no parameters', () => {
    expect(parseEncKeysQuery(new URLSearchParams(''), LIMITS)).toEqual({
      ok: true,
      value: { number: 1, size: 256, additionalSlaveSaeIds: [], ttlSeconds: 3600 },
    });
  });

  it('takes number and size as decimal strings', () => {
    expect(parseEncKeysQuery(new URLSearchParams('number=3&size=1024'), LIMITS)).toMatchObject({
      ok: true,
      value: { number: 3, size: 1024 },
    });
    expect(parseEncKeysQuery({ size: '512' }, LIMITS)).toMatchObject({
      ok: true,
      value: { number: 1, size: 512 },
    });
  });

  it.each(['+3', '-3', ' 3', '3 ', '3x', '0x10', '1e2', '3.0', '', '١٢'])(
    'answers 400 when number is %j',
    (number) => {
      expect(answer(parseEncKeysQuery({ number }, LIMITS))).toEqual({
        status: 400,
        message: 'query parameter number shall be a decimal integer (digits only)',
      });
    },
  );

  it('answers 400 for any other query parameter, since GET allows nothing else', () => {
    expect(answer(parseEncKeysQuery(new URLSearchParams('number=1&dqkd_ttl=60'), LIMITS))).toEqual({
      status: 400,
      message:
        'GET enc_keys takes only the query parameters number and size, not "dqkd_ttl"; send anything else with POST',
    });
  });

  it('answers 400 when a parameter repeats', () => {
    expect(answer(parseEncKeysQuery(new URLSearchParams('size=64&size=128'), LIMITS)).message).toBe(
      'query parameter size shall be given once',
    );
    expect(answer(parseEncKeysQuery({ size: ['64', '128'] }, LIMITS)).message).toBe(
      'query parameter size shall be given once',
    );
  });

  it('answers 400 for bracket syntax that a router parsed into an object', () => {
    expect(answer(parseEncKeysQuery({ number: { a: '1' } }, LIMITS)).message).toBe(
      'query parameter number shall be a plain value',
    );
  });

  it('applies the limits of POST', () => {
    expect(answer(parseEncKeysQuery({ number: '0' }, LIMITS)).message).toMatch(
      /^number shall be an integer from 1/,
    );
    // Past the exact integers: out of range, not "digits only", which it is.
    for (const number of ['99999999999999999999', '9'.repeat(400)]) {
      expect(answer(parseEncKeysQuery({ number }, LIMITS)).message).toMatch(
        /^number shall be an integer from 1/,
      );
    }
    expect(parseEncKeysQuery({ size: '0'.repeat(30) + '64' }, LIMITS)).toMatchObject({
      ok: true,
      value: { size: 64 },
    });
    expect(answer(parseEncKeysQuery({ size: '100' }, LIMITS)).message).toBe('size shall be a multiple of 8');
    expect(answer(parseEncKeysQuery({ size: '2048' }, LIMITS)).message).toMatch(
      /^size shall be from 64 to 1024/,
    );
  });
});
