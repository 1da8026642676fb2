import { readFileSync } from 'node:fs';
import path from 'node:path';

import { openApiDocument } from './openapi-document';

const COMMITTED = path.resolve(__dirname, '../../../../docs/openapi.json');

// The members of each data format as the spec's tables list them (§6).
const SPEC_FIELDS = {
  Status: {
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
    optional: ['status_extension'],
  },
  KeyRequest: {
    required: [],
    optional: ['number', 'size', 'additional_slave_SAE_IDs', 'extension_mandatory', 'extension_optional'],
  },
  KeyContainer: { required: ['keys'], optional: ['key_container_extension'] },
  Key: { required: ['key_ID', 'key'], optional: ['key_ID_extension', 'key_extension'] },
  KeyIDs: { required: ['key_IDs'], optional: ['key_IDs_extension'] },
  KeyIdEntry: { required: ['key_ID'], optional: ['key_ID_extension'] },
  Error: { required: ['message'], optional: ['details'] },
} as const;

interface ObjectSchema {
  readonly required?: readonly string[];
  readonly properties: Readonly<Record<string, unknown>>;
}

const schemas = openApiDocument.components.schemas as Readonly<Record<string, ObjectSchema>>;

describe('the OpenAPI document', () => {
  it('is what docs/openapi.json holds, so the committed file cannot drift (npm run openapi rewrites it)', () => {
    const committed: unknown = JSON.parse(readFileSync(COMMITTED, 'utf8'));
    expect(committed).toEqual(JSON.parse(JSON.stringify(openApiDocument)));
  });

  it('is OpenAPI 3.1 with mutual TLS for every route', () => {
    expect(openApiDocument.openapi).toBe('3.1.0');
    expect(openApiDocument.security).toEqual([{ mutualTLS: [] }]);
    expect(openApiDocument.components.securitySchemes.mutualTLS.type).toBe('mutualTLS');
  });

  it.each(Object.entries(SPEC_FIELDS))('describes every field of %s with the spec names', (name, fields) => {
    const schema = schemas[name];
    expect(schema).toBeDefined();
    expect(Object.keys(schema?.properties ?? {}).sort()).toEqual(
      [...fields.required, ...fields.optional].sort(),
    );
    expect([...(schema?.required ?? [])].sort()).toEqual([...fields.required].sort());
  });

  it('has the three routes of Table 2 with the methods the spec allows', () => {
    const methods = Object.fromEntries(
      Object.entries(openApiDocument.paths).map(([route, operations]) => [
        route,
        Object.keys(operations).sort(),
      ]),
    );
    expect(methods).toEqual({
      '/api/v1/keys/{slave_SAE_ID}/status': ['get'],
      '/api/v1/keys/{slave_SAE_ID}/enc_keys': ['get', 'post'],
      '/api/v1/keys/{master_SAE_ID}/dec_keys': ['get', 'post'],
    });
  });

  it('answers every operation with 200 and the error statuses 400, 401 and 503 with an Error body', () => {
    const { responses } = openApiDocument.components;
    for (const operations of Object.values(openApiDocument.paths)) {
      for (const operation of Object.values(operations)) {
        expect(Object.keys(operation.responses).sort()).toEqual(['200', '400', '401', '503']);
      }
    }
    for (const response of Object.values(responses)) {
      expect(response.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/Error' });
    }
  });

  it('resolves every $ref inside the document', () => {
    const refs = JSON.stringify(openApiDocument).match(/"\$ref":"[^"]+"/g) ?? [];
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) {
      const pointer = ref.slice('"$ref":"#/'.length, -1).split('/');
      const target = pointer.reduce<unknown>(
        (node, key) => (node as Record<string, unknown> | undefined)?.[key],
        openApiDocument,
      );
      expect({ ref, resolved: target !== undefined }).toEqual({ ref, resolved: true });
    }
  });

  it('takes GET query parameters only as the spec allows: number and size, or key_ID', () => {
    const names = (route: keyof typeof openApiDocument.paths) =>
      openApiDocument.paths[route].get.parameters.map((parameter) => parameter.$ref.split('/').pop());
    expect(names('/api/v1/keys/{slave_SAE_ID}/enc_keys')).toEqual(['slave_SAE_ID', 'number', 'size']);
    expect(names('/api/v1/keys/{master_SAE_ID}/dec_keys')).toEqual(['master_SAE_ID', 'key_ID']);
  });
});
