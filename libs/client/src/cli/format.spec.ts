import { STATUS } from '../../test/status-fixture';
import { demoTable, halvesAgree, keysTable, statusTable, table } from './format';

const key = (id: string, bytes: number[]) => ({ key_ID: id, key: Buffer.from(bytes).toString('base64') });

describe('table', () => {
  it('aligns columns under the widest cell', () => {
    expect(
      table([
        ['a', 'bb'],
        ['ccc', 'd'],
      ]),
    ).toBe('a    bb\nccc  d');
  });
});

describe('statusTable', () => {
  it('shows strings without quotes and other values as JSON', () => {
    const rows = statusTable(STATUS).split('\n');
    expect(rows).toContain('source_KME_ID        kme-east');
    expect(rows).toContain('key_size             256');
  });
});

describe('keysTable', () => {
  it('shows each key with its size in bits and its deadline', () => {
    const container = {
      keys: [{ ...key('k1', [1, 2]), key_extension: { dqkd_expires_at: '2026-11-25T23:00:00.000Z' } }],
    };
    expect(keysTable(container).split('\n')[1]).toBe('k1      16    2026-11-25T23:00:00.000Z  AQI=');
  });
});

describe('demoTable', () => {
  it('says yes for a key both halves hold and NO for a differing or missing one', () => {
    const rows = demoTable(
      { keys: [key('k1', [1]), key('k2', [2]), key('k3', [3])] },
      { keys: [key('k1', [1]), key('k2', [9])] },
    ).split('\n');
    expect(rows.slice(1).map((row) => row.split(/\s+/).at(-1))).toEqual(['yes', 'NO', 'NO']);
  });
});

describe('halvesAgree', () => {
  it('holds only when the slave got every key of the master, each the same', () => {
    const master = { keys: [key('k1', [1]), key('k2', [2])] };
    expect(halvesAgree(master, { keys: [key('k2', [2]), key('k1', [1])] })).toBe(true);
    expect(halvesAgree(master, { keys: [key('k1', [1]), key('k2', [9])] })).toBe(false);
    expect(halvesAgree(master, { keys: [key('k1', [1])] })).toBe(false);
    expect(halvesAgree({ keys: [] }, { keys: [] })).toBe(false);
  });
});
