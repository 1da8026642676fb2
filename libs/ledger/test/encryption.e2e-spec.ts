import { randomBytes, randomUUID } from 'node:crypto';

import { aeadSeal } from '../src/crypto/aead';
import { wrapKey } from '../src/crypto/key-wrap';
import { Keyring } from '../src/crypto/keyring';
import { MaterialCipher } from '../src/crypto/material-cipher';
import { MaterialIntegrityError } from '../src/errors';
import { DATABASE_MODES } from './support/test-database';
import { inAnHour, newLink, randomKeyring, readyBlocks, useTestLedger } from './support/test-ledger';

describe.each(DATABASE_MODES)('material at rest on %s', (mode) => {
  const context = useTestLedger(mode);

  async function keyWithMaterial(material: Buffer) {
    const { ledger } = context();
    const link = await newLink(ledger, 512);
    await readyBlocks(ledger, link, 1);
    const reserved = await ledger.reservations.reserve(link.id, material.length * 8);
    if (!reserved.ok) {
      throw new Error('reservation failed');
    }
    const keyId = randomUUID();
    await ledger.keys.record([
      {
        keyId,
        linkId: link.id,
        masterSaeId: 'sae-alice',
        size: material.length * 8,
        reservationId: reserved.reservation.id,
        offset: 0,
        expiresAt: inAnHour(),
        slaves: [{ kind: 'sae', id: 'sae-bob' }],
        material,
      },
    ]);
    return keyId;
  }

  it('round-trips block and key material', async () => {
    const { ledger } = context();
    const link = await newLink(ledger, 2048);
    const [block] = await readyBlocks(ledger, link, 1);
    expect(await ledger.blocks.readMaterial(block.id)).toEqual(block.material);
    const material = randomBytes(32);
    expect(await ledger.keys.readMaterial(await keyWithMaterial(material))).toEqual(material);
  });

  it('never shows plaintext to a plain SELECT of any table', async () => {
    const { ledger } = context();
    const link = await newLink(ledger, 2048);
    const [block] = await readyBlocks(ledger, link, 1);
    const keyMaterial = randomBytes(32);
    await keyWithMaterial(keyMaterial);
    const tables = await ledger.dataSource.query(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`,
    );
    for (const { table_name: table } of tables as { table_name: string }[]) {
      const dump = await ledger.dataSource.query(`SELECT t::text AS row FROM ${table} t`);
      const text = (dump as { row: string }[]).map((row) => row.row).join('\n');
      for (const secret of [block.material.subarray(0, 16), keyMaterial.subarray(0, 16)]) {
        expect(text).not.toContain(secret.toString('hex'));
        expect(text).not.toContain(secret.toString('base64'));
      }
    }
  });

  it('refuses to open a row ciphertext copied into another row', async () => {
    const { ledger } = context();
    const link = await newLink(ledger, 1024);
    const [victim, thief, other] = await readyBlocks(ledger, link, 3);
    await ledger.dataSource.query(
      `UPDATE blocks SET (material_ciphertext, material_wrapped_key, material_kek_id) =
         (SELECT material_ciphertext, material_wrapped_key, material_kek_id FROM blocks WHERE id = $1)
       WHERE id = $2`,
      [victim.id, thief.id],
    );
    await expect(ledger.blocks.readMaterial(thief.id)).rejects.toThrow(MaterialIntegrityError);
    await ledger.dataSource.query(
      `UPDATE blocks SET material_ciphertext = (SELECT material_ciphertext FROM blocks WHERE id = $1) WHERE id = $2`,
      [other.id, victim.id],
    );
    await expect(ledger.blocks.readMaterial(victim.id)).rejects.toThrow(/ciphertext does not authenticate/);
  });

  type Statement = [sql: string, values: unknown[]];

  /** Runs each change, sees `read` refuse, undoes it, and sees `read` answer the material again. */
  async function refusedWhileAltered(
    read: () => Promise<Buffer | undefined>,
    material: Buffer,
    changes: readonly { readonly change: Statement; readonly undo: Statement }[],
  ) {
    const { ledger } = context();
    for (const { change, undo } of changes) {
      await ledger.dataSource.query(...change);
      await expect(read()).rejects.toThrow(/a column it is sealed to altered/);
      await ledger.dataSource.query(...undo);
      expect(await read()).toEqual(material);
    }
  }

  it("opens a key's material only while its link, master, deadline and slave entries stand as recorded", async () => {
    const { ledger } = context();
    const material = randomBytes(32);
    const keyId = await keyWithMaterial(material);
    const other = await newLink(ledger, 512);
    const [{ link_id: linkId }] = (await ledger.dataSource.query(
      'SELECT link_id FROM keys WHERE key_id = $1',
      [keyId],
    )) as { link_id: number }[];
    await refusedWhileAltered(() => ledger.keys.readMaterial(keyId), material, [
      {
        change: [`UPDATE keys SET link_id = $2 WHERE key_id = $1`, [keyId, other.id]],
        undo: [`UPDATE keys SET link_id = $2 WHERE key_id = $1`, [keyId, linkId]],
      },
      {
        change: [`UPDATE keys SET master_sae_id = 'sae-mallory' WHERE key_id = $1`, [keyId]],
        undo: [`UPDATE keys SET master_sae_id = 'sae-alice' WHERE key_id = $1`, [keyId]],
      },
      {
        change: [`UPDATE keys SET expires_at = expires_at + interval '1 day' WHERE key_id = $1`, [keyId]],
        undo: [`UPDATE keys SET expires_at = expires_at - interval '1 day' WHERE key_id = $1`, [keyId]],
      },
      {
        change: [`UPDATE key_slaves SET slave_id = 'sae-eve' WHERE key_id = $1`, [keyId]],
        undo: [`UPDATE key_slaves SET slave_id = 'sae-bob' WHERE key_id = $1`, [keyId]],
      },
      {
        change: [`UPDATE key_slaves SET kind = 'kme', slave_id = 'kme-west' WHERE key_id = $1`, [keyId]],
        undo: [`UPDATE key_slaves SET kind = 'sae', slave_id = 'sae-bob' WHERE key_id = $1`, [keyId]],
      },
    ]);

    // An entry added for another SAE: its delivery fails, and the slave the key was issued to still gets it.
    await ledger.dataSource.query(
      `INSERT INTO key_slaves (key_id, slave_id, kind) VALUES ($1, 'sae-eve', 'sae')`,
      [keyId],
    );
    await expect(ledger.keys.deliver([keyId], { kind: 'sae', id: 'sae-eve' })).rejects.toThrow(
      MaterialIntegrityError,
    );
    await ledger.dataSource.query(`DELETE FROM key_slaves WHERE key_id = $1 AND slave_id = 'sae-eve'`, [
      keyId,
    ]);
    expect(await ledger.keys.deliver([keyId], { kind: 'sae', id: 'sae-bob' })).toEqual({
      ok: true,
      keys: [{ keyId, material }],
    });
  });

  it('delivers a key an earlier version sealed to its row ID alone, so an upgrade loses none in flight', async () => {
    const { ledger, keyring } = context();
    const material = randomBytes(32);
    const keyId = await keyWithMaterial(randomBytes(32));
    // The row as the version before sealed it: material under a data key, additional data naming the row.
    const dataKey = randomBytes(32);
    await ledger.dataSource.query(
      `UPDATE keys SET material_ciphertext = $2, material_wrapped_key = $3, material_kek_id = 1 WHERE key_id = $1`,
      [
        keyId,
        aeadSeal(dataKey, material, Buffer.from(`dqkd-ledger/material/v1/keys/${keyId}`)),
        wrapKey(keyring.get(1) as Buffer, dataKey, Buffer.from(`dqkd-ledger/data-key/v1/keys/${keyId}/1`)),
      ],
    );
    expect(await ledger.keys.deliver([keyId], { kind: 'sae', id: 'sae-bob' })).toEqual({
      ok: true,
      keys: [{ keyId, material }],
    });
  });

  it("opens a block's material only while its link, role and deadline stand as stored", async () => {
    const { ledger } = context();
    const link = await newLink(ledger, 1024);
    const other = await newLink(ledger, 1024);
    const [block] = await readyBlocks(ledger, link, 1);
    await refusedWhileAltered(() => ledger.blocks.readMaterial(block.id), block.material, [
      {
        change: [`UPDATE blocks SET link_id = $2 WHERE id = $1`, [block.id, other.id]],
        undo: [`UPDATE blocks SET link_id = $2 WHERE id = $1`, [block.id, link.id]],
      },
      {
        change: [`UPDATE blocks SET role = 'target' WHERE id = $1`, [block.id]],
        undo: [`UPDATE blocks SET role = 'source' WHERE id = $1`, [block.id]],
      },
      {
        change: [`UPDATE blocks SET expires_at = expires_at + interval '1 day' WHERE id = $1`, [block.id]],
        undo: [`UPDATE blocks SET expires_at = expires_at - interval '1 day' WHERE id = $1`, [block.id]],
      },
    ]);
    // Taking bits re-seals the block: still to its own row, so it opens as before and as nothing else.
    const taken = await ledger.blocks.takeBits([{ blockId: block.id, start: 0, end: 64 }]);
    expect(taken).toEqual(block.material.subarray(0, 8));
    await ledger.dataSource.query(`UPDATE blocks SET link_id = $2 WHERE id = $1`, [block.id, other.id]);
    await expect(ledger.blocks.takeBits([{ blockId: block.id, start: 64, end: 128 }])).rejects.toThrow(
      MaterialIntegrityError,
    );
    await ledger.dataSource.query(`UPDATE blocks SET link_id = $2 WHERE id = $1`, [block.id, link.id]);
    expect(await ledger.blocks.readMaterial(block.id)).toEqual(
      Buffer.concat([Buffer.alloc(8), block.material.subarray(8)]),
    );
  });

  it('zeroes the blocks it opened for a change when a later one does not open', async () => {
    const { ledger } = context();
    const link = await newLink(ledger, 1024);
    // Opened in ID order: the second one's ciphertext is another row's, so it fails after the first opened.
    const [first, second] = (await readyBlocks(ledger, link, 2)).sort((a, b) => a.id.localeCompare(b.id));
    await ledger.dataSource.query(
      `UPDATE blocks SET material_ciphertext = (SELECT material_ciphertext FROM blocks WHERE id = $1) WHERE id = $2`,
      [first.id, second.id],
    );
    const open = jest.spyOn(MaterialCipher.prototype, 'open');
    try {
      const segments = [first, second].map((block) => ({ blockId: block.id, start: 0, end: 64 }));
      await expect(ledger.blocks.takeBits(segments)).rejects.toThrow(MaterialIntegrityError);
      const opened = open.mock.results
        .filter((result) => result.type === 'return')
        .map((r) => r.value as Buffer);
      expect(opened).toHaveLength(1);
      expect(opened[0]!.every((byte) => byte === 0)).toBe(true);
    } finally {
      open.mockRestore();
    }
  });

  it('rewraps every data key under a new KEK version, keeping material readable without the old one', async () => {
    const { ledger, keyring } = context();
    const link = await newLink(ledger, 1024);
    const blocks = await readyBlocks(ledger, link, 3);
    const keyMaterial = randomBytes(16);
    const keyId = await keyWithMaterial(keyMaterial);

    const next = randomKeyring(2);
    const rotated = await context().connect(
      Keyring.fromKeks([{ version: 1, key: keyring.get(1) as Buffer }, next.current]),
    );
    const counts = await rotated.rewrap(2);
    expect(counts.blocks).toBeGreaterThanOrEqual(3);
    expect(counts.keys).toBeGreaterThanOrEqual(1);
    // The row tampered with in the test above cannot be rewrapped; everything else moved to version 2.
    const unreadable = counts.unreadable.map((row) => row.id);
    const versions = await ledger.dataSource.query(
      `SELECT DISTINCT material_kek_id AS kek FROM blocks WHERE material_kek_id IS NOT NULL AND id <> ALL ($1::uuid[])
       UNION SELECT DISTINCT material_kek_id FROM keys WHERE material_kek_id IS NOT NULL`,
      [unreadable],
    );
    expect(versions).toEqual([{ kek: 2 }]);

    const retired = await context().connect(next);
    for (const block of blocks) {
      expect(await retired.blocks.readMaterial(block.id)).toEqual(block.material);
    }
    expect(await retired.keys.readMaterial(keyId)).toEqual(keyMaterial);
    await expect(ledger.blocks.readMaterial(blocks[0].id)).rejects.toThrow(
      /KEK version 2 is not in the keyring/,
    );
    expect(counts.remaining).toBe(0);
    expect(await rotated.rewrap()).toEqual({
      blocks: 0,
      keys: 0,
      unreadable: counts.unreadable,
      remaining: 0,
    });
  });
});

describe.each(DATABASE_MODES)('rewrapping a live site on %s', (mode) => {
  const context = useTestLedger(mode);

  /** Holds `blockId`'s row locked, as a gateway taking bits out of it does, until the answer is called. */
  async function lockBlock(blockId: string): Promise<() => Promise<void>> {
    const holder = context().ledger.dataSource.createQueryRunner();
    await holder.connect();
    await holder.startTransaction();
    await holder.query('SELECT id FROM blocks WHERE id = $1 FOR UPDATE', [blockId]);
    return async () => {
      await holder.rollbackTransaction();
      await holder.release();
    };
  }

  const versionOf = async (blockId: string) =>
    (
      (await context().ledger.dataSource.query('SELECT material_kek_id AS kek FROM blocks WHERE id = $1', [
        blockId,
      ])) as { kek: number }[]
    )[0]?.kek;

  it('reports a row locked through every pass as remaining, and rewraps it once it is free', async () => {
    const { ledger, keyring, connect } = context();
    const link = await newLink(ledger, 1024);
    const [locked, free] = await readyBlocks(ledger, link, 2);
    const rotated = await connect(
      Keyring.fromKeks([{ version: 1, key: keyring.get(1) as Buffer }, randomKeyring(2).current]),
    );

    const release = await lockBlock(locked.id);
    const first = await rotated.rewrap().finally(release);
    expect(first).toEqual({ blocks: 1, keys: 0, unreadable: [], remaining: 1 });
    expect([await versionOf(locked.id), await versionOf(free.id)]).toEqual([1, 2]);

    // Locked when the next rewrap starts, free a moment later: a later pass takes it.
    const releaseSoon = await lockBlock(locked.id);
    setTimeout(() => void releaseSoon(), 300);
    expect(await rotated.rewrap()).toEqual({ blocks: 1, keys: 0, unreadable: [], remaining: 0 });
    expect(await versionOf(locked.id)).toBe(2);
    expect(await rotated.blocks.readMaterial(locked.id)).toEqual(locked.material);
  });
});
