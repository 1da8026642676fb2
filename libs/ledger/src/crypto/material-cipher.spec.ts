import { randomBytes } from 'node:crypto';

import { MaterialIntegrityError } from '../errors';
import { aeadOpen, aeadSeal } from './aead';
import { unwrapKey, wrapKey, WRAPPED_KEY_BYTES } from './key-wrap';
import { Keyring } from './keyring';
import {
  MaterialCipher,
  type MaterialRow,
  type SealedMaterial,
  type StoredMaterial,
} from './material-cipher';

const kek = (version: number) => ({ version, key: randomBytes(32) });

describe('aeadSeal / aeadOpen', () => {
  const key = randomBytes(32);
  const aad = Buffer.from('row-1');

  it('round-trips with a fresh iv each time', () => {
    const plaintext = Buffer.from('block material');
    const first = aeadSeal(key, plaintext, aad);
    const second = aeadSeal(key, plaintext, aad);
    expect(first.equals(second)).toBe(false);
    expect(aeadOpen(key, first, aad)).toEqual(plaintext);
  });

  it('refuses altered ciphertext, other additional data, another key and truncated input', () => {
    const sealed = aeadSeal(key, Buffer.from('block material'), aad);
    const flipped = Buffer.from(sealed);
    flipped[14] ^= 1;
    expect(aeadOpen(key, flipped, aad)).toBeUndefined();
    expect(aeadOpen(key, sealed, Buffer.from('row-2'))).toBeUndefined();
    expect(aeadOpen(randomBytes(32), sealed, aad)).toBeUndefined();
    expect(aeadOpen(key, sealed.subarray(0, 20), aad)).toBeUndefined();
  });
});

describe('wrapKey / unwrapKey', () => {
  const kekKey = randomBytes(32);
  const dataKey = randomBytes(32);
  const aad = Buffer.from('dqkd-ledger/data-key/v1/keys/k-1/1');

  it('wraps a data key in 40 bytes without an IV, and unwraps it only with the same KEK and additional data', () => {
    const wrapped = wrapKey(kekKey, dataKey, aad);
    expect(wrapped).toHaveLength(WRAPPED_KEY_BYTES);
    expect(wrapped.includes(dataKey)).toBe(false);
    expect(unwrapKey(kekKey, wrapped, aad)).toEqual(dataKey);
    expect(unwrapKey(kekKey, wrapped, Buffer.from('dqkd-ledger/data-key/v1/keys/k-2/1'))).toBeUndefined();
    expect(unwrapKey(randomBytes(32), wrapped, aad)).toBeUndefined();
    const flipped = Buffer.from(wrapped);
    flipped[20] ^= 1;
    expect(unwrapKey(kekKey, flipped, aad)).toBeUndefined();
    expect(unwrapKey(kekKey, wrapped.subarray(0, 32), aad)).toBeUndefined();
  });
});

describe('MaterialCipher', () => {
  const material = randomBytes(64);
  const row = (id: string, ...bound: (string | number)[]): MaterialRow => ({ id, bound });
  const stored = (at: MaterialRow, sealed: SealedMaterial): StoredMaterial => ({ ...sealed, row: at });

  it('opens what it sealed for the same table and row', () => {
    const cipher = new MaterialCipher(Keyring.fromKeks([kek(1)]));
    const sealed = cipher.seal('blocks', row('b-1', 7, 'source'), material);
    expect(sealed.kekId).toBe(1);
    expect(sealed.ciphertext.includes(material)).toBe(false);
    expect(cipher.open('blocks', stored(row('b-1', 7, 'source'), sealed))).toEqual(material);
  });

  it('seals many rows at once, each under its own data key and IVs, each opening only as its row', () => {
    const cipher = new MaterialCipher(Keyring.fromKeks([kek(1)]));
    const rows = ['row-a', 'row-b', 'row-c'].map((id) => ({ row: row(id, 1), material }));
    const sealed = cipher.sealAll('keys', rows);
    expect(sealed.map((each, index) => cipher.open('keys', stored(rows[index]!.row, each)))).toEqual([
      material,
      material,
      material,
    ]);
    const distinct = (values: Buffer[]) => new Set(values.map((value) => value.toString('hex'))).size;
    expect(distinct(sealed.map((each) => each.ciphertext))).toBe(3);
    expect(distinct(sealed.map((each) => each.wrappedKey))).toBe(3);
    expect(() => cipher.open('keys', stored(row('row-b', 1), sealed[0]!))).toThrow(MaterialIntegrityError);
  });

  it('refuses a row ciphertext opened as another row or another table', () => {
    const cipher = new MaterialCipher(Keyring.fromKeks([kek(1)]));
    const sealed = cipher.seal('keys', row('k-1'), material);
    expect(() => cipher.open('keys', stored(row('k-2'), sealed))).toThrow(MaterialIntegrityError);
    expect(() => cipher.open('blocks', stored(row('k-1'), sealed))).toThrow(MaterialIntegrityError);
  });

  it('opens material only with every value it was sealed to, unchanged and in order', () => {
    const cipher = new MaterialCipher(Keyring.fromKeks([kek(1)]));
    const sealedTo = row('k-1', 3, 'sae-alice', '2026-11-28T15:00:00.000Z', 'sae:sae-bob');
    const sealed = cipher.seal('keys', sealedTo, material);
    expect(cipher.open('keys', stored(sealedTo, sealed))).toEqual(material);
    for (const altered of [
      row('k-1', 4, 'sae-alice', '2026-11-28T15:00:00.000Z', 'sae:sae-bob'),
      row('k-1', 3, 'sae-mallory', '2026-11-28T15:00:00.000Z', 'sae:sae-bob'),
      row('k-1', 3, 'sae-alice', '2026-11-28T16:00:00.000Z', 'sae:sae-bob'),
      row('k-1', 3, 'sae-alice', '2026-11-28T15:00:00.000Z', 'sae:sae-bob', 'sae:sae-eve'),
      row('k-1', 3, 'sae-alice', '2026-11-28T15:00:00.000Z'),
      row('k-1', '3', 'sae-alice', '2026-11-28T15:00:00.000Z', 'sae:sae-bob'),
      row('k-1', 'sae-alice', 3, '2026-11-28T15:00:00.000Z', 'sae:sae-bob'),
      row('k-1'),
    ]) {
      expect(() => cipher.open('keys', stored(altered, sealed))).toThrow(/a column it is sealed to altered/);
    }
  });

  it('refuses a wrapped key that claims another KEK version', () => {
    const one = kek(1);
    const cipher = new MaterialCipher(Keyring.fromKeks([one, kek(2)]));
    const sealed = cipher.seal('keys', row('k-1'), material);
    expect(() => cipher.open('keys', stored(row('k-1'), { ...sealed, kekId: 1 }))).toThrow(
      /data key does not authenticate/,
    );
  });

  it('wraps data keys with the key wrap, and still opens rows an earlier version wrapped with AES-GCM', () => {
    const one = kek(1);
    const cipher = new MaterialCipher(Keyring.fromKeks([one]));
    expect(cipher.seal('keys', row('k-1'), material).wrappedKey).toHaveLength(WRAPPED_KEY_BYTES);
    // A row as earlier versions sealed it: the data key under AES-256-GCM with a random IV (60 bytes).
    const dataKey = randomBytes(32);
    const legacy = {
      ciphertext: aeadSeal(dataKey, material, Buffer.from('dqkd-ledger/material/v1/keys/k-9')),
      wrappedKey: aeadSeal(one.key, dataKey, Buffer.from('dqkd-ledger/data-key/v1/keys/k-9/1')),
      kekId: 1,
    };
    expect(legacy.wrappedKey).toHaveLength(60);
    expect(cipher.open('keys', stored(row('k-9', 1), legacy))).toEqual(material);
    expect(() => cipher.open('keys', stored(row('k-8', 1), legacy))).toThrow(MaterialIntegrityError);
    const two = kek(2);
    const rewrapped = new MaterialCipher(Keyring.fromKeks([one, two])).rewrap(
      'keys',
      'k-9',
      legacy.wrappedKey,
      1,
    );
    expect(rewrapped).toMatchObject({ kekId: 2, wrappedKey: expect.any(Buffer) });
    expect(rewrapped.wrappedKey).toHaveLength(WRAPPED_KEY_BYTES);
    expect(
      new MaterialCipher(Keyring.fromKeks([two])).open(
        'keys',
        stored(row('k-9', 1), { ...legacy, ...rewrapped }),
      ),
    ).toEqual(material);
  });

  it('still opens material an earlier version sealed to the row ID alone, but never bound material that way', () => {
    const one = kek(1);
    const cipher = new MaterialCipher(Keyring.fromKeks([one]));
    const dataKey = randomBytes(32);
    const unbound = {
      ciphertext: aeadSeal(dataKey, material, Buffer.from('dqkd-ledger/material/v1/blocks/b-9')),
      wrappedKey: wrapKey(one.key, dataKey, Buffer.from('dqkd-ledger/data-key/v1/blocks/b-9/1')),
      kekId: 1,
    };
    expect(cipher.open('blocks', stored(row('b-9', 2, 'target'), unbound))).toEqual(material);
    expect(() => cipher.open('blocks', stored(row('b-8', 2, 'target'), unbound))).toThrow(
      MaterialIntegrityError,
    );
    // Bound material under its row ID alone, as a row whose columns were emptied would ask.
    const bound = cipher.seal('blocks', row('b-9', 2, 'target'), material);
    expect(() => cipher.open('blocks', stored(row('b-9'), bound))).toThrow(MaterialIntegrityError);
  });

  it('rewraps under the newest KEK so the old one can be retired', () => {
    const one = kek(1);
    const two = kek(2);
    const at = row('b-1', 1, 'source');
    const sealed = new MaterialCipher(Keyring.fromKeks([one])).seal('blocks', at, material);
    const rotated = new MaterialCipher(Keyring.fromKeks([one, two]));
    const rewrapped = rotated.rewrap('blocks', 'b-1', sealed.wrappedKey, sealed.kekId);
    expect(rewrapped.kekId).toBe(2);
    const retired = new MaterialCipher(Keyring.fromKeks([two]));
    expect(retired.open('blocks', stored(at, { ciphertext: sealed.ciphertext, ...rewrapped }))).toEqual(
      material,
    );
    expect(() => retired.open('blocks', stored(at, sealed))).toThrow(/KEK version 1 is not in the keyring/);
  });
});
