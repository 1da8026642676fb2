import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

import { AnuSource } from '../src/app/sources/anu-source';
import { CsprngSource } from '../src/app/sources/csprng-source';
import { DeviceSource } from '../src/app/sources/device-source';
import { QryptSource } from '../src/app/sources/qrypt-source';
import { RandomSourceFailed, type RandomSource } from '../src/app/sources/random-source';
import { XorSource } from '../src/app/sources/xor-source';

type Handler = (request: IncomingMessage, url: URL, response: ServerResponse) => void;

/** A stand-in QRNG service on 127.0.0.1 that records what it was asked. */
async function fakeService(
  handler: Handler,
): Promise<{ url: string; requests: URL[]; headers: IncomingMessage['headers'][]; close(): Promise<void> }> {
  const requests: URL[] = [];
  const headers: IncomingMessage['headers'][] = [];
  const server: Server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    requests.push(url);
    headers.push(request.headers);
    handler(request, url, response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    headers,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function json(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

async function failureOf(source: RandomSource, bytes: number): Promise<string> {
  try {
    await source.read(bytes);
  } catch (error) {
    if (error instanceof RandomSourceFailed) return error.message;
    throw error;
  }
  throw new Error('expected the source to fail');
}

describe('random sources', () => {
  describe('QryptSource', () => {
    const blocks = new Map<number, Buffer>();
    let service: Awaited<ReturnType<typeof fakeService>>;

    beforeAll(async () => {
      service = await fakeService((request, url, response) => {
        if (request.headers.authorization !== 'Bearer token-1')
          return json(response, 401, { error: 'unauthorized' });
        const size = Number(url.searchParams.get('size'));
        const random = Array.from({ length: size }, () => {
          const block = randomBytes(1024);
          blocks.set(blocks.size, block);
          return block.toString('base64');
        });
        json(response, 200, { random, size });
      });
    });
    afterAll(() => service.close());

    it('asks GET …/api/v1/quantum-entropy?size=<KiB> with the bearer token and returns the decoded blocks', async () => {
      blocks.clear();
      const bytes = await new QryptSource(service.url, 'token-1').read(1500);
      expect(service.requests.at(-1)?.pathname).toBe('/api/v1/quantum-entropy');
      expect(service.requests.at(-1)?.searchParams.get('size')).toBe('2');
      expect(Buffer.from(bytes)).toEqual(Buffer.concat([...blocks.values()]).subarray(0, 1500));
    });

    it('splits a large fill into requests of at most 512 KiB', async () => {
      const before = service.requests.length;
      const bytes = await new QryptSource(service.url, 'token-1').read(600 * 1024);
      expect(bytes).toHaveLength(600 * 1024);
      expect(service.requests.slice(before).map((url) => url.searchParams.get('size'))).toEqual([
        '512',
        '88',
      ]);
    });

    it('fails, without echoing the token, when the service refuses it', async () => {
      const message = await failureOf(new QryptSource(service.url, 'wrong-token'), 16);
      expect(message).toBe(`random source qrypt: ${service.url} answered HTTP 401`);
    });
  });

  describe('AnuSource', () => {
    let service: Awaited<ReturnType<typeof fakeService>>;
    let broken = false;

    beforeAll(async () => {
      service = await fakeService((request, url, response) => {
        const length = Number(url.searchParams.get('length'));
        const data = broken ? [256] : [...randomBytes(length)];
        json(response, 200, {
          success: request.headers['x-api-key'] === 'key-1',
          type: 'uint8',
          length,
          data,
        });
      });
    });
    afterAll(() => service.close());

    it('asks ?length=<n>&type=uint8 with x-api-key, at most 1024 numbers a request', async () => {
      const bytes = await new AnuSource(`${service.url}/`, 'key-1').read(1500);
      expect(bytes).toHaveLength(1500);
      expect(
        service.requests.map((url) => [url.searchParams.get('length'), url.searchParams.get('type')]),
      ).toEqual([
        ['1024', 'uint8'],
        ['476', 'uint8'],
      ]);
      expect(service.headers[0]['x-api-key']).toBe('key-1');
    });

    it('fails when the service reports no success or a number out of range', async () => {
      expect(await failureOf(new AnuSource(service.url, 'other'), 8)).toBe(
        'random source anu: the service reported no success',
      );
      broken = true;
      expect(await failureOf(new AnuSource(service.url, 'key-1'), 8)).toMatch(
        /expected 8 numbers from 0 to 255/,
      );
      broken = false;
    });

    it('fails when nothing listens', async () => {
      const closed = await fakeService(() => undefined);
      await closed.close();
      expect(await failureOf(new AnuSource(closed.url, 'key-1'), 8)).toBe(
        `random source anu: no answer from ${closed.url}`,
      );
    });
  });

  describe('DeviceSource', () => {
    let dir: string;
    beforeAll(() => (dir = mkdtempSync(path.join(tmpdir(), 'dqkd-device-'))));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('reads a file onwards, never replaying bytes, and fails at its end', async () => {
      const content = randomBytes(100);
      const file = path.join(dir, 'random.bin');
      writeFileSync(file, content);
      const source = new DeviceSource(file);
      try {
        expect(Buffer.from(await source.read(60))).toEqual(content.subarray(0, 60));
        expect(Buffer.from(await source.read(40))).toEqual(content.subarray(60));
        expect(await failureOf(source, 1)).toBe(`random source device ${file}: exhausted after 0 of 1 bytes`);
      } finally {
        await source.close();
      }
    });

    it('reads a character device such as /dev/urandom', async () => {
      const source = new DeviceSource('/dev/urandom');
      try {
        const bytes = await source.read(4096);
        expect(bytes.some((byte) => byte !== 0)).toBe(true);
      } finally {
        await source.close();
      }
    });

    it('fails when the device does not exist', async () => {
      expect(await failureOf(new DeviceSource(path.join(dir, 'missing')), 1)).toMatch(/cannot open$/);
    });
  });

  describe('XorSource', () => {
    it('XORs two sources byte by byte', async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'dqkd-xor-'));
      try {
        const [a, b] = [randomBytes(64), randomBytes(64)];
        writeFileSync(path.join(dir, 'a'), a);
        writeFileSync(path.join(dir, 'b'), b);
        const source = new XorSource(
          new DeviceSource(path.join(dir, 'a')),
          new DeviceSource(path.join(dir, 'b')),
        );
        const bytes = await source.read(64);
        await source.close();
        expect(Buffer.from(bytes)).toEqual(Buffer.from(a.map((byte, i) => byte ^ b[i])));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('fails when either source fails', async () => {
      const source = new XorSource(new CsprngSource(), new DeviceSource('/nonexistent/hwrng'));
      expect(await failureOf(source, 8)).toMatch(/^random source device \/nonexistent\/hwrng: cannot open/);
    });
  });
});
