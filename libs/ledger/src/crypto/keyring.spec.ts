import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { LedgerConfigError } from '../errors';
import { Keyring, keyringFromEnv } from './keyring';

const key = (fill: number) => Buffer.alloc(32, fill).toString('base64');

describe('Keyring.parse', () => {
  it('takes the highest version as the current KEK', () => {
    const keyring = Keyring.parse(`2:${key(2)},7:${key(7)},3:${key(3)}`, 'DQKD_KEK');
    expect(keyring.current.version).toBe(7);
    expect(keyring.current.key).toEqual(Buffer.alloc(32, 7));
    expect(keyring.versions).toEqual([2, 3, 7]);
    expect(keyring.get(2)).toEqual(Buffer.alloc(32, 2));
  });

  it('tolerates surrounding whitespace and a trailing newline from a mounted secret', () => {
    expect(Keyring.parse(` 1:${key(1)} \n`, 'DQKD_KEK_FILE').current.version).toBe(1);
  });

  it.each([
    ['an empty value', '', /DQKD_KEK: is empty/],
    ['a missing version', key(1), /positive integer version/],
    ['version zero', `0:${key(1)}`, /positive integer version/],
    ['a negative version', `-1:${key(1)}`, /positive integer version/],
    ['a fractional version', `1.5:${key(1)}`, /positive integer version/],
    ['a repeated version', `1:${key(1)},1:${key(2)}`, /version 1 appears twice/],
    ['a 16-byte key', `1:${Buffer.alloc(16).toString('base64')}`, /exactly 32 bytes/],
    ['url-safe base64', `1:${key(0xfb).replace(/\+/g, '-').replace(/\//g, '_')}`, /standard base64/],
    ['unpadded base64', `1:${key(1).replace(/=+$/, '')}`, /standard base64/],
    ['an empty entry', `1:${key(1)},`, /entry 2/],
  ])('refuses %s, naming the variable', (_case, text, message) => {
    const attempt = () => Keyring.parse(text, 'DQKD_KEK');
    expect(attempt).toThrow(LedgerConfigError);
    expect(attempt).toThrow(message);
    expect(attempt).toThrow(/^environment: DQKD_KEK: /);
  });
});

describe('keyringFromEnv', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'dqkd-keyring-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('answers undefined when neither variable is set', () => {
    expect(keyringFromEnv({})).toBeUndefined();
  });

  it('reads DQKD_KEK', () => {
    expect(keyringFromEnv({ DQKD_KEK: `4:${key(4)}` })?.current.version).toBe(4);
  });

  it('reads the file named by DQKD_KEK_FILE', () => {
    const file = join(dir, 'kek');
    writeFileSync(file, `1:${key(1)},2:${key(2)}\n`);
    expect(keyringFromEnv({ DQKD_KEK_FILE: file })?.current.version).toBe(2);
  });

  it('refuses both variables at once', () => {
    expect(() => keyringFromEnv({ DQKD_KEK: `1:${key(1)}`, DQKD_KEK_FILE: join(dir, 'kek') })).toThrow(
      /set only one of DQKD_KEK and DQKD_KEK_FILE/,
    );
  });

  it('names DQKD_KEK_FILE when the file is missing or malformed', () => {
    expect(() => keyringFromEnv({ DQKD_KEK_FILE: join(dir, 'absent') })).toThrow(
      /^environment: DQKD_KEK_FILE: cannot read/,
    );
    const bad = join(dir, 'bad');
    writeFileSync(bad, 'not a keyring');
    expect(() => keyringFromEnv({ DQKD_KEK_FILE: bad })).toThrow(`environment: DQKD_KEK_FILE (${bad}): `);
  });
});
