import { DQKD_TTL } from '../extensions';
import { MAX_ID_LENGTH } from '../ids';
import { MAX_TTL_SECONDS } from '../limits';

const extension = {
  type: 'object',
  description: 'Extension parameters: name/value pairs; DQKD names carry the prefix `dqkd_`.',
  additionalProperties: true,
} as const;

const ref = <Name extends string>(name: Name) => ({ $ref: `#/components/schemas/${name}` }) as const;

const errorResponse = (description: string) =>
  ({ description, content: { 'application/json': { schema: ref('Error') } } }) as const;

const saeIdParameter = <Name extends 'slave_SAE_ID' | 'master_SAE_ID'>(name: Name, description: string) =>
  ({
    name,
    in: 'path',
    required: true,
    description,
    schema: { type: 'string', minLength: 1, maxLength: MAX_ID_LENGTH },
  }) as const;

const errorResponses = {
  '400': { $ref: '#/components/responses/BadRequest' },
  '401': { $ref: '#/components/responses/Unauthorized' },
  '503': { $ref: '#/components/responses/ServerError' },
} as const;

const keyContainerResponse = {
  description: 'The keys, each removed from the KME for this SAE once returned.',
  content: { 'application/json': { schema: ref('KeyContainer') } },
} as const;

/** The OpenAPI 3.1 description of DQKD's ETSI GS QKD 014 routes; `npm run openapi` writes it to docs/. */
export const openApiDocument = {
  openapi: '3.1.0',
  info: {
    title: 'DQKD key delivery API (ETSI GS QKD 014)',
    version: '1.1.1',
    description:
      'The REST-based key delivery API of ETSI GS QKD 014 V1.1.1 as each DQKD KME serves it over HTTPS with ' +
      'mutual TLS. The caller is the SAE named in its client certificate. Limits (sizes, counts) are per ' +
      `link and published by the status route. Vendor extension \`${DQKD_TTL}\`: the decode deadline in seconds ` +
      `(1 to the link's max_ttl_seconds, at most ${MAX_TTL_SECONDS}; optional values beyond it are clamped; ` +
      `default: the link's default_ttl_seconds, ${MAX_TTL_SECONDS} unless the network file sets less). A POST ` +
      'body is read as JSON whatever its Content-Type. Other paths and methods answer 404 with an Error body.',
  },
  servers: [
    { url: 'https://127.0.0.1:8443', description: 'kme-east in the embedded default (`npm start`)' },
    { url: 'https://127.0.0.1:9443', description: 'kme-west in the embedded default (`npm start`)' },
  ],
  security: [{ mutualTLS: [] }],
  paths: {
    '/api/v1/keys/{slave_SAE_ID}/status': {
      get: {
        operationId: 'getStatus',
        summary: 'Get status (§5.1): the link to the slave SAE and its limits',
        parameters: [{ $ref: '#/components/parameters/slave_SAE_ID' }],
        responses: {
          '200': {
            description: 'Status of the link',
            content: { 'application/json': { schema: ref('Status') } },
          },
          ...errorResponses,
        },
      },
    },
    '/api/v1/keys/{slave_SAE_ID}/enc_keys': {
      get: {
        operationId: 'getKeySimple',
        summary: 'Get key (§5.2) with nothing but number and size; any other query parameter is refused',
        parameters: [
          { $ref: '#/components/parameters/slave_SAE_ID' },
          { $ref: '#/components/parameters/number' },
          { $ref: '#/components/parameters/size' },
        ],
        responses: { '200': keyContainerResponse, ...errorResponses },
      },
      post: {
        operationId: 'getKey',
        summary: 'Get key (§5.2); a query string is refused',
        parameters: [{ $ref: '#/components/parameters/slave_SAE_ID' }],
        requestBody: {
          required: false,
          description:
            'Every member is optional; an empty body (or one of JSON whitespace only) or `{}` asks for one key ' +
            'of the default size.',
          content: {
            'application/json': {
              schema: ref('KeyRequest'),
              examples: {
                ttl: {
                  summary: 'Two 256-bit keys to decode within ten minutes',
                  value: { number: 2, size: 256, extension_mandatory: [{ [DQKD_TTL]: 600 }] },
                },
              },
            },
          },
        },
        responses: { '200': keyContainerResponse, ...errorResponses },
      },
    },
    '/api/v1/keys/{master_SAE_ID}/dec_keys': {
      get: {
        operationId: 'getKeyWithKeyIdsSimple',
        summary: 'Get key with key IDs (§5.3) for one key; any other query parameter is refused',
        parameters: [
          { $ref: '#/components/parameters/master_SAE_ID' },
          { $ref: '#/components/parameters/key_ID' },
        ],
        responses: { '200': keyContainerResponse, ...errorResponses },
      },
      post: {
        operationId: 'getKeyWithKeyIds',
        summary:
          'Get key with key IDs (§5.3): every key asked for is returned, or none; a query string is refused',
        parameters: [{ $ref: '#/components/parameters/master_SAE_ID' }],
        requestBody: { required: true, content: { 'application/json': { schema: ref('KeyIDs') } } },
        responses: { '200': keyContainerResponse, ...errorResponses },
      },
    },
  },
  components: {
    securitySchemes: {
      mutualTLS: {
        type: 'mutualTLS',
        description:
          "A client certificate issued to the SAE by the network CA; its subject CN is the SAE's `certificate_cn` " +
          'in the network file.',
      },
    },
    parameters: {
      slave_SAE_ID: saeIdParameter(
        'slave_SAE_ID',
        'The slave SAE the keys are for, URL-encoded. The ID of a peer KME is accepted too: the keys are then for ' +
          'any one SAE attached to it.',
      ),
      master_SAE_ID: saeIdParameter(
        'master_SAE_ID',
        "The master SAE that asked for the keys, URL-encoded. The ID of the master's KME is accepted too: the " +
          'keys may then come from any SAE attached to it.',
      ),
      number: {
        name: 'number',
        in: 'query',
        required: false,
        description: 'Number of keys, decimal digits only (default 1).',
        schema: { type: 'integer', minimum: 1 },
      },
      size: {
        name: 'size',
        in: 'query',
        required: false,
        description: 'Bits per key, decimal digits only (default: `key_size` of the status).',
        schema: { type: 'integer', minimum: 8, multipleOf: 8 },
      },
      key_ID: {
        name: 'key_ID',
        in: 'query',
        required: true,
        description: 'The one key to return.',
        schema: { type: 'string', format: 'uuid' },
      },
    },
    responses: {
      BadRequest: errorResponse(
        'Bad request format (or a key that is not found, expired or already delivered)',
      ),
      Unauthorized: errorResponse('Unauthorized: the caller may not ask for this'),
      ServerError: errorResponse(
        'Error on server side: not enough key material ready, or more requests than the caller may send ' +
          '(retry later); or more bits in one request (number × size) than the pool of the link ever holds ' +
          '(ask for fewer or smaller keys: the message says how many bits it holds)',
      ),
    },
    schemas: {
      Status: {
        type: 'object',
        description: 'Status data format (Table 9).',
        required: [
          'source_KME_ID',
          'target_KME_ID',
          'master_SAE_ID',
          'slave_SAE_ID',
          'key_size',
          'stored_key_count',
          'max_key_count',
          'max_key_per_request',
          'max_key_size',
          'min_key_size',
          'max_SAE_ID_count',
        ],
        properties: {
          source_KME_ID: { type: 'string', description: 'KME of the master SAE.' },
          target_KME_ID: { type: 'string', description: 'KME of the slave SAE.' },
          master_SAE_ID: { type: 'string', description: 'The calling SAE.' },
          slave_SAE_ID: { type: 'string', description: 'The slave SAE named in the path.' },
          key_size: { type: 'integer', description: 'Default key size in bits.' },
          stored_key_count: {
            type: 'integer',
            minimum: 0,
            description:
              'Keys of `key_size` the ready pool of this link could give now (its ready bits not yet carved ' +
              'nor reserved, divided by `key_size`), at most `max_key_count`.',
          },
          max_key_count: { type: 'integer', description: 'Most keys this link stores.' },
          max_key_per_request: {
            type: 'integer',
            minimum: 1,
            description: 'Most keys per enc_keys request.',
          },
          max_key_size: { type: 'integer', description: 'Largest key size in bits.' },
          min_key_size: { type: 'integer', description: 'Smallest key size in bits.' },
          max_SAE_ID_count: {
            type: 'integer',
            minimum: 0,
            description: 'Most additional slave SAEs per request; 0 means no multicast.',
          },
          status_extension: extension,
        },
      },
      KeyRequest: {
        type: 'object',
        description:
          'Key request data format (Table 10). Members the spec does not define are ignored. Unknown ' +
          'mandatory extensions are refused; unknown optional ones are ignored.',
        properties: {
          number: { type: 'integer', minimum: 1, default: 1, description: 'Number of keys.' },
          size: {
            type: 'integer',
            minimum: 8,
            multipleOf: 8,
            description: 'Bits per key, within [min_key_size, max_key_size] (default `key_size`).',
          },
          additional_slave_SAE_IDs: {
            type: 'array',
            uniqueItems: true,
            description: 'Further slaves of the same keys (multicast), at most `max_SAE_ID_count`.',
            items: { type: 'string', minLength: 1, maxLength: MAX_ID_LENGTH },
          },
          extension_mandatory: {
            type: 'array',
            description: `Extensions that must be honoured. DQKD knows \`${DQKD_TTL}\`: an integer number of seconds within the link's limit.`,
            items: { anyOf: [ref('DqkdTtl'), extension] },
          },
          extension_optional: {
            type: 'array',
            description: `Extensions honoured where possible. An integer \`${DQKD_TTL}\` out of range is clamped into it; one that is not an integer is ignored.`,
            items: { anyOf: [ref('DqkdTtl'), extension] },
          },
        },
      },
      Key: {
        type: 'object',
        required: ['key_ID', 'key'],
        properties: {
          key_ID: { type: 'string', format: 'uuid' },
          key_ID_extension: extension,
          key: { type: 'string', contentEncoding: 'base64', description: 'Key material, Base64 (RFC 4648).' },
          key_extension: {
            ...extension,
            description: 'DQKD always sends it, with the decode deadline.',
            required: ['dqkd_expires_at'],
            properties: {
              dqkd_expires_at: {
                type: 'string',
                format: 'date-time',
                description: 'Decode deadline of the key (UTC).',
              },
            },
          },
        },
      },
      DqkdTtl: {
        type: 'object',
        description: `The TTL extension, one object per extension: \`{"${DQKD_TTL}": 600}\`.`,
        required: [DQKD_TTL],
        additionalProperties: false,
        properties: {
          [DQKD_TTL]: {
            type: 'integer',
            minimum: 1,
            maximum: MAX_TTL_SECONDS,
            description: 'Seconds from the enc_keys answer to the decode deadline.',
          },
        },
      },
      KeyContainer: {
        type: 'object',
        description: 'Key container data format (Table 11).',
        required: ['keys'],
        properties: {
          keys: { type: 'array', items: ref('Key') },
          key_container_extension: extension,
        },
      },
      KeyIdEntry: {
        type: 'object',
        required: ['key_ID'],
        description: 'Members besides these (e.g. `master_SAE_ID`) are accepted and ignored.',
        additionalProperties: true,
        properties: {
          key_ID: { type: 'string', format: 'uuid' },
          key_ID_extension: extension,
        },
      },
      KeyIDs: {
        type: 'object',
        description: 'Key IDs data format (Table 12). Each key_ID at most once.',
        required: ['key_IDs'],
        properties: {
          key_IDs: { type: 'array', minItems: 1, items: ref('KeyIdEntry') },
          key_IDs_extension: extension,
        },
      },
      Error: {
        type: 'object',
        description: 'Error data format (Table 13).',
        required: ['message'],
        properties: {
          message: { type: 'string' },
          details: { type: 'array', items: { type: 'object', additionalProperties: true } },
        },
      },
    },
  },
} as const;
