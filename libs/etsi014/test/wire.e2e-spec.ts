import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

import {
  parseDecKeysBody,
  parseDecKeysQuery,
  parseEncKeysBody,
  parseEncKeysQuery,
  parsePathId,
  toEtsiResponse,
  type EtsiLimits,
  type Result,
} from '../src';

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

async function readBody(req: http.IncomingMessage): Promise<unknown> {
  let text = '';
  for await (const chunk of req) text += String(chunk);
  return text === '' ? {} : JSON.parse(text);
}

/**
 * The smallest edge that uses the contract as the gateway will: raw path segments and queries as Node
 * hands them over, bodies through JSON.parse. It echoes what the parsers made of the request.
 */
async function handle(req: http.IncomingMessage): Promise<{ status: number; body: unknown }> {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const [, api, version, keys, segment = '', route] = url.pathname.split('/');
  if (`${api}/${version}/${keys}` !== 'api/v1/keys') return { status: 404, body: {} };
  const sae = parsePathId(segment, route === 'dec_keys' ? 'master_SAE_ID' : 'slave_SAE_ID');
  let parsed: Result<unknown> = sae;
  if (sae.ok && route === 'enc_keys') {
    parsed =
      req.method === 'GET'
        ? parseEncKeysQuery(url.searchParams, LIMITS)
        : parseEncKeysBody(await readBody(req), LIMITS);
  } else if (sae.ok && route === 'dec_keys') {
    parsed =
      req.method === 'GET'
        ? parseDecKeysQuery(url.searchParams)
        : parseDecKeysBody(await readBody(req), LIMITS);
  }
  if (!parsed.ok) return toEtsiResponse(parsed.error);
  return { status: 200, body: { sae: sae.ok ? sae.value : undefined, request: parsed.value } };
}

describe('the contract on the wire', () => {
  let server: http.Server;
  let base: string;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      handle(req).then(
        ({ status, body }) => {
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(JSON.stringify(body));
        },
        () => {
          res.writeHead(400, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ message: 'the request body shall be JSON' }));
        },
      );
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/keys`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  async function call(path: string, init?: RequestInit): Promise<{ status: number; body: unknown }> {
    const response = await fetch(`${base}${path}`, { ...init, signal: AbortSignal.timeout(5000) });
    return { status: response.status, body: await response.json() };
  }

  const post = (path: string, body: string) =>
    call(path, { method: 'POST', body, headers: { 'content-type': 'application/json' } });

  it('reads a URL-encoded SAE ID and a GET enc_keys query', async () => {
    expect(await call('/sae%20bob%2Fwest/enc_keys?number=2&size=512')).toEqual({
      status: 200,
      body: {
        sae: 'sae bob/west',
        request: { number: 2, size: 512, additionalSlaveSaeIds: [], ttlSeconds: 3600 },
      },
    });
  });

  it('takes an empty POST body as a request for one default key', async () => {
    expect(await post('/sae-bob/enc_keys', '')).toMatchObject({
      status: 200,
      body: { request: { number: 1, size: 256 } },
    });
  });

  it('answers 400 with the spec message when size is not a multiple of 8', async () => {
    expect(await post('/sae-bob/enc_keys', '{"size": 100}')).toEqual({
      status: 400,
      body: { message: 'size shall be a multiple of 8' },
    });
  });

  it('answers 400 with details for an unknown mandatory extension', async () => {
    expect(
      await post('/sae-bob/enc_keys', '{"extension_mandatory": [{"abc_route_type": "direct"}]}'),
    ).toEqual({
      status: 400,
      body: {
        message: 'not all extension_mandatory parameters are supported',
        details: [{ extension_mandatory_unsupported: 'abc_route_type is not supported' }],
      },
    });
  });

  it('answers 400 for a GET enc_keys query parameter other than number and size', async () => {
    expect(await call('/sae-bob/enc_keys?number=1&extension_optional=x')).toMatchObject({ status: 400 });
  });

  it('reads a GET dec_keys query and a POST dec_keys body', async () => {
    const keyId = 'BC490419-7D60-487F-ADC1-4DDCC177C139';
    expect(await call(`/sae-alice/dec_keys?key_ID=${keyId}`)).toEqual({
      status: 200,
      body: { sae: 'sae-alice', request: { keyIds: [keyId.toLowerCase()] } },
    });
    expect(
      await post('/sae-alice/dec_keys', JSON.stringify({ key_IDs: [{ key_ID: keyId }, { key_ID: keyId }] })),
    ).toEqual({ status: 400, body: { message: `key_IDs shall not repeat a key_ID: "${keyId}"` } });
  });

  it('answers 400 for a path ID that decodes to a control character', async () => {
    expect(await call('/sae%0Abob/status')).toEqual({
      status: 400,
      body: {
        message: 'slave_SAE_ID in the path shall be a non-empty printable string of at most 256 characters',
      },
    });
  });
});
