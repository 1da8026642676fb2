import { EtsiClientError } from './errors';
import { readErrorBody, readKeyContainer, readStatus } from './responses';

const STATUS = {
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
};

function refusal(read: () => unknown): EtsiClientError {
  try {
    read();
  } catch (error) {
    if (error instanceof EtsiClientError) return error;
    throw error;
  }
  throw new Error('expected the answer to be refused');
}

describe('readStatus', () => {
  it('takes a status with every field of Table 9', () => {
    expect(readStatus(JSON.stringify({ ...STATUS, status_extension: { x: 1 } }))).toEqual({
      ...STATUS,
      status_extension: { x: 1 },
    });
  });

  it('refuses a status without a field, or with a field of the wrong type', () => {
    const { key_size: _, ...missing } = STATUS;
    expect(refusal(() => readStatus(JSON.stringify(missing))).message).toBe(
      'the status answer has no integer key_size',
    );
    expect(refusal(() => readStatus(JSON.stringify({ ...STATUS, slave_SAE_ID: 7 }))).code).toBe(
      'invalid-response',
    );
  });

  it('refuses a body that is not JSON', () => {
    expect(refusal(() => readStatus('<html>')).message).toBe('the status answer is not JSON');
  });
});

describe('readKeyContainer', () => {
  it('takes a key container', () => {
    const container = { keys: [{ key_ID: 'id', key: 'AAAA', key_extension: { dqkd_expires_at: 'x' } }] };
    expect(readKeyContainer(JSON.stringify(container))).toEqual(container);
  });

  it.each([
    ['no keys array', {}],
    ['a key without material', { keys: [{ key_ID: 'id' }] }],
    ['an array body', [{ key_ID: 'id', key: 'AAAA' }]],
  ])('refuses %s', (_, body) => {
    expect(refusal(() => readKeyContainer(JSON.stringify(body))).code).toBe('invalid-response');
  });
});

describe('readErrorBody', () => {
  it('keeps message and details of an ETSI Error body', () => {
    const body = {
      message: 'not all extension_mandatory parameters are supported',
      details: [{ extension_mandatory_unsupported: 'abc_route_type is not supported' }],
    };
    expect(readErrorBody(400, JSON.stringify(body))).toEqual(body);
  });

  it('keeps a message without details as it is', () => {
    expect(readErrorBody(401, '{"message":"no"}')).toEqual({ message: 'no' });
  });

  it('still gives a message for a body that is not the ETSI format', () => {
    expect(readErrorBody(502, '<html>Bad gateway</html>')).toEqual({
      message: 'HTTP 502 without an ETSI Error body',
    });
    expect(readErrorBody(401, '')).toEqual({ message: 'HTTP 401 without an ETSI Error body' });
  });
});
