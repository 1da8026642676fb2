import { randomBytes, randomUUID } from 'node:crypto';

import { Keyring } from '../src/crypto/keyring';
import { LedgerConflictError } from '../src/errors';
import { Ledger } from '../src/ledger';
import { NewKey, Slave } from '../src/store/types';
import { DATABASE_MODES } from './support/test-database';
import { alterAtRest } from './support/alter-at-rest';
import { inAnHour, newLink, randomKeyring, readyBlocks, useTestLedger } from './support/test-ledger';

const ATTEMPTS = 10;

describe.each(DATABASE_MODES)('delivery and idempotent replication on %s', (mode) => {
  const context = useTestLedger(mode);
  let others: Ledger[];
  beforeAll(async () => {
    others = await Promise.all(Array.from({ length: ATTEMPTS }, () => context().connect()));
  });

  /** Target-side keys with material, carved from one fresh reservation. */
  async function targetKeys(slaves: Slave[], count = 1, expiresAt = inAnHour()): Promise<NewKey[]> {
    const { ledger } = context();
    const link = await newLink(ledger, 1024);
    await readyBlocks(ledger, link, 1);
    const reserved = await ledger.reservations.reserve(link.id, count * 128);
    if (!reserved.ok) {
      throw new Error('reservation failed');
    }
    const keys = Array.from({ length: count }, (_, i) => ({
      keyId: randomUUID(),
      linkId: link.id,
      masterSaeId: 'sae-alice',
      size: 128,
      reservationId: reserved.reservation.id,
      offset: i * 128,
      expiresAt,
      slaves,
      material: randomBytes(16),
    }));
    await ledger.keys.record(keys);
    return keys;
  }

  const bob: Slave = { kind: 'sae', id: 'sae-bob' };
  const carol: Slave = { kind: 'sae', id: 'sae-carol' };

  it('delivers a key to a slave exactly once under concurrent attempts', async () => {
    const [key] = await targetKeys([bob, carol]);
    const results = await Promise.all(others.map((ledger) => ledger.keys.deliver([key.keyId], bob)));
    const winners = results.filter((result) => result.ok);
    expect(winners).toEqual([{ ok: true, keys: [{ keyId: key.keyId, material: key.material }] }]);
    // Refused while the winner's claim is held, or once it is settled.
    expect(results.filter((result) => !result.ok)).toEqual(
      Array(ATTEMPTS - 1).fill({
        ok: false,
        reason: expect.stringMatching(/^(in-delivery|already-delivered)$/),
        keyId: key.keyId,
      }),
    );
    const [record] = await context().ledger.keys.find([key.keyId]);
    expect(record.slaves.find((slave) => slave.id === 'sae-bob')?.deliveredAt).toBeInstanceOf(Date);
    expect(record.slaves.find((slave) => slave.id === 'sae-carol')?.deliveredAt).toBeNull();
    expect(record.hasMaterial).toBe(true);
  });

  it('drops the material once every slave has the key', async () => {
    const { ledger } = context();
    const [key] = await targetKeys([bob, carol]);
    expect((await ledger.keys.deliver([key.keyId], bob)).ok).toBe(true);
    expect(await ledger.keys.deliver([key.keyId], carol)).toEqual({
      ok: true,
      keys: [{ keyId: key.keyId, material: key.material }],
    });
    expect(await ledger.keys.readMaterial(key.keyId)).toBeUndefined();
    const [row] = await ledger.dataSource.query(
      `SELECT material_ciphertext, material_wrapped_key, material_kek_id FROM keys WHERE key_id = $1`,
      [key.keyId],
    );
    expect(row).toEqual({ material_ciphertext: null, material_wrapped_key: null, material_kek_id: null });
  });

  it('drops the material when one batch delivers to every slave, and keeps it while one is missing', async () => {
    const { ledger } = context();
    const [both, one] = await targetKeys([bob, carol], 2);
    const claims = [
      [{ keyId: both.keyId, slave: bob }],
      [
        { keyId: both.keyId, slave: carol },
        { keyId: one.keyId, slave: carol },
      ],
    ];
    const { delivered, refused, claimedUntil } = await ledger.keys.claim(claims);
    expect(refused.size).toBe(0);
    expect(delivered.get(both.keyId)).toEqual(both.material);
    expect(delivered.get(one.keyId)).toEqual(one.material);
    // Claimed is not delivered: the material stays until the answers went out.
    expect(await ledger.keys.readMaterial(both.keyId)).toEqual(both.material);
    await ledger.keys.settle(
      claims.flat().map((claim) => ({ ...claim, claimedUntil: claimedUntil! })),
      [],
    );
    expect(await ledger.keys.readMaterial(both.keyId)).toBeUndefined();
    expect(await ledger.keys.readMaterial(one.keyId)).toEqual(one.material);
    const [event] = (await ledger.audit.about(both.keyId)).filter(({ event }) => event === 'key-delivered');
    expect([...event!.keyIds].sort()).toEqual([both.keyId, one.keyId].sort());
    expect([...event!.saeIds].sort()).toEqual(['sae-bob', 'sae-carol']);
  });

  it('claims per request: a request with one entry gone gets nothing, the others of the call get theirs', async () => {
    const { ledger } = context();
    const [taken, free, other] = await targetKeys([bob], 3);
    const [late] = await targetKeys([bob], 1, new Date(Date.now() - 1_000));
    expect((await ledger.keys.deliver([taken.keyId], bob)).ok).toBe(true);
    const { delivered, refused } = await ledger.keys.claim([
      [
        { keyId: free.keyId, slave: bob },
        { keyId: taken.keyId, slave: bob },
      ],
      [{ keyId: other.keyId, slave: bob }],
      [{ keyId: late.keyId, slave: bob }],
      [{ keyId: free.keyId, slave: carol }],
    ]);
    expect({ refused: [...refused].sort(), delivered: [...delivered.keys()] }).toEqual({
      refused: [0, 2, 3],
      delivered: [other.keyId],
    });
    expect(delivered.get(other.keyId)).toEqual(other.material);
    // The refused request's other entry is still open: bob can take that key on its own.
    expect(await ledger.keys.deliver([free.keyId], bob)).toEqual({
      ok: true,
      keys: [{ keyId: free.keyId, material: free.material }],
    });
  });

  it('drops the material of a key whose slaves claim it at the same moment from different connections', async () => {
    const keys = await targetKeys([bob, carol], ATTEMPTS / 2);
    // Each key claimed by bob and by carol at once, on connections of their own.
    const results = await Promise.all(
      keys.flatMap((key, i) => [
        others[2 * i]!.keys.claim([[{ keyId: key.keyId, slave: bob }]]),
        others[2 * i + 1]!.keys.claim([[{ keyId: key.keyId, slave: carol }]]),
      ]),
    );
    expect(results.map((result) => result.refused.size)).toEqual(Array(ATTEMPTS).fill(0));
    // And each answer settled at the same moment, on those connections.
    await Promise.all(
      keys.flatMap((key, i) =>
        [bob, carol].map((slave, j) =>
          others[2 * i + j]!.keys.settle(
            [{ keyId: key.keyId, slave, claimedUntil: results[2 * i + j]!.claimedUntil! }],
            [],
          ),
        ),
      ),
    );
    const records = await context().ledger.keys.find(keys.map((key) => key.keyId));
    expect(records.map((record) => record.hasMaterial)).toEqual(Array(keys.length).fill(false));
  });

  // A gateway that died, or a connection that dropped, between the claim and the answer: the slave never got
  // the key. Marked delivered by the claim, the key was lost to it.
  it('holds a claimed entry from other deliveries until it is settled, and frees it when the answer did not go out or the claim lapsed', async () => {
    const { ledger } = context();
    const [released, lapsed] = await targetKeys([bob], 2);
    const claim = (keyId: string, leaseMs?: number) =>
      ledger.keys.claim([[{ keyId, slave: bob }]], undefined, leaseMs);
    const held = await claim(released.keyId);
    expect(held.delivered.get(released.keyId)).toEqual(released.material);
    expect(await ledger.keys.deliver([released.keyId], bob)).toEqual({
      ok: false,
      reason: 'in-delivery',
      keyId: released.keyId,
    });
    expect([...(await claim(released.keyId)).refused]).toEqual([0]);
    // An outcome for another claim of the entry (one that lapsed, say) settles nothing.
    const another = new Date(Date.now() - 60_000).toISOString();
    await ledger.keys.settle([], [{ keyId: released.keyId, slave: bob, claimedUntil: another }]);
    expect([...(await claim(released.keyId)).refused]).toEqual([0]);
    await ledger.keys.settle([], [{ keyId: released.keyId, slave: bob, claimedUntil: held.claimedUntil! }]);
    expect(await ledger.keys.deliver([released.keyId], bob)).toEqual({
      ok: true,
      keys: [{ keyId: released.keyId, material: released.material }],
    });

    expect((await claim(lapsed.keyId, 300)).delivered.size).toBe(1);
    expect([...(await claim(lapsed.keyId)).refused]).toEqual([0]);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(await ledger.keys.deliver([lapsed.keyId], bob)).toEqual({
      ok: true,
      keys: [{ keyId: lapsed.keyId, material: lapsed.material }],
    });
    expect(await ledger.keys.readMaterial(lapsed.keyId)).toBeUndefined();
    const events = await ledger.audit.about(lapsed.keyId);
    expect(events.filter(({ event }) => event === 'key-delivered')).toHaveLength(1);
  });

  it("records earlier answers' outcomes in the statement of the next claim, and claims no entry it settles", async () => {
    const { ledger } = context();
    const [sent, unsent, next] = await targetKeys([bob], 3);
    const entry = (key: NewKey) => ({ keyId: key.keyId, slave: bob });
    const { claimedUntil } = await ledger.keys.claim([[entry(sent)], [entry(unsent)]]);
    const held = (key: NewKey) => ({ ...entry(key), claimedUntil: claimedUntil! });
    const { delivered, refused } = await ledger.keys.claim([[entry(next)], [entry(unsent)]], {
      sent: [held(sent)],
      unsent: [held(unsent)],
    });
    expect({ delivered: [...delivered.keys()], refused: [...refused] }).toEqual({
      delivered: [next.keyId],
      refused: [1],
    });
    expect(await ledger.keys.readMaterial(sent.keyId)).toBeUndefined();
    expect((await ledger.keys.find([sent.keyId]))[0]!.slaves[0]!.deliveredAt).toBeInstanceOf(Date);
    // Freed by that statement, not claimed by it: free now.
    expect((await ledger.keys.deliver([unsent.keyId], bob)).ok).toBe(true);
    expect(await ledger.keys.deliver([next.keyId], bob)).toMatchObject({ ok: false, reason: 'in-delivery' });
  });

  it('answers a key whose material does not open apart, so the other requests of the claim get theirs', async () => {
    const { ledger } = context();
    const [altered, good, alteredToo] = await targetKeys([bob], 3);
    // A row altered at rest (or sealed under a KEK version this keyring lacks) fails authentication.
    await alterAtRest(ledger, 'keys', [altered.keyId, alteredToo.keyId]);
    const { delivered, refused, unreadable } = await ledger.keys.claim([
      [{ keyId: altered.keyId, slave: bob }],
      [{ keyId: good.keyId, slave: bob }],
    ]);
    expect(refused.size).toBe(0);
    expect([...unreadable.keys()]).toEqual([altered.keyId]);
    expect([...delivered.keys()]).toEqual([good.keyId]);
    expect(delivered.get(good.keyId)).toEqual(good.material);
    // A single delivery has no other request to answer: it throws.
    await expect(ledger.keys.deliver([alteredToo.keyId], bob)).rejects.toThrow();
  });

  // During a KEK rotation's rolling restart, replication may seal keys under the new version before every
  // gateway holds it: a gateway without it must leave them for one that has it, not mark them delivered.
  it('leaves a key sealed under a KEK version this keyring lacks undelivered, with its material', async () => {
    const { keyring, connect } = context();
    const withNext = await connect(
      Keyring.fromKeks([{ version: 1, key: keyring.get(1) as Buffer }, randomKeyring(2).current]),
    );
    const link = await newLink(withNext, 1024);
    await readyBlocks(withNext, link, 1);
    const reserved = await withNext.reservations.reserve(link.id, 256);
    if (!reserved.ok) throw new Error('reservation failed');
    const [sealedNext, sealedNow] = [0, 128].map((offset) => ({
      keyId: randomUUID(),
      linkId: link.id,
      masterSaeId: 'sae-alice',
      size: 128,
      reservationId: reserved.reservation.id,
      offset,
      expiresAt: inAnHour(),
      slaves: [bob],
      material: randomBytes(16),
    }));
    await withNext.keys.record([sealedNext!]);
    await context().ledger.keys.record([sealedNow!]);

    const { ledger } = context();
    const { delivered, refused, unreadable } = await ledger.keys.claim([
      [{ keyId: sealedNext!.keyId, slave: bob }],
      [{ keyId: sealedNow!.keyId, slave: bob }],
    ]);
    expect(refused.size).toBe(0);
    expect([...delivered.keys()]).toEqual([sealedNow!.keyId]);
    expect(unreadable.get(sealedNext!.keyId)).toMatchObject({ kekMissing: true });
    await expect(ledger.keys.deliver([sealedNext!.keyId], bob)).rejects.toThrow(
      /KEK version 2 is not in the keyring/,
    );
    // Nothing was committed for it: a ledger with the keyring delivers it, once.
    expect(await withNext.keys.deliver([sealedNext!.keyId], bob)).toEqual({
      ok: true,
      keys: [{ keyId: sealedNext!.keyId, material: sealedNext!.material }],
    });
    expect((await withNext.keys.deliver([sealedNext!.keyId], bob)).ok).toBe(false);
  });

  it('delivers every requested key or none of them', async () => {
    const { ledger } = context();
    const keys = await targetKeys([bob], 3);
    const [foreign] = await targetKeys([carol]);
    const mixed = await ledger.keys.deliver([keys[0].keyId, foreign.keyId, keys[1].keyId], bob);
    expect(mixed).toEqual({ ok: false, reason: 'not-a-slave', keyId: foreign.keyId });
    const unknown = randomUUID();
    expect(await ledger.keys.deliver([keys[0].keyId, unknown], bob)).toEqual({
      ok: false,
      reason: 'unknown-key',
      keyId: unknown,
    });
    const records = await ledger.keys.find(keys.map((key) => key.keyId));
    expect(records.flatMap((record) => record.slaves.map((slave) => slave.deliveredAt))).toEqual([
      null,
      null,
      null,
    ]);
    const all = await ledger.keys.deliver(
      keys.map((key) => key.keyId),
      bob,
    );
    expect(all.ok && all.keys.map((key) => key.material)).toEqual(keys.map((key) => key.material));
  });

  it('lets a key addressed to a peer KME be taken once, and refuses expired keys', async () => {
    const { ledger } = context();
    const [toKme] = await targetKeys([{ kind: 'kme', id: 'kme-west' }]);
    expect(await ledger.keys.deliver([toKme.keyId], bob)).toMatchObject({ ok: false, reason: 'not-a-slave' });
    expect((await ledger.keys.deliver([toKme.keyId], { kind: 'kme', id: 'kme-west' })).ok).toBe(true);
    expect(await ledger.keys.deliver([toKme.keyId], { kind: 'kme', id: 'kme-west' })).toMatchObject({
      reason: 'already-delivered',
    });
    const [late] = await targetKeys([bob], 1, new Date(Date.now() - 1_000));
    expect(await ledger.keys.deliver([late.keyId], bob)).toEqual({
      ok: false,
      reason: 'expired',
      keyId: late.keyId,
    });
    // The claim checks again under its locks: a key that expired after a request was judged is not delivered.
    const { delivered, refused } = await ledger.keys.claim([[{ keyId: late.keyId, slave: bob }]]);
    expect([delivered.size, [...refused]]).toEqual([0, [0]]);
    expect((await ledger.keys.find([late.keyId]))[0]!.slaves[0]!.deliveredAt).toBeNull();
  });

  it('records issuance and delivery in the audit trail without material', async () => {
    const { ledger } = context();
    const [key] = await targetKeys([bob]);
    await ledger.keys.deliver([key.keyId], bob);
    const events = await ledger.audit.about(key.keyId);
    expect(events.map((event) => event.event)).toEqual(['key-issued', 'key-delivered']);
    expect(events[0]).toMatchObject({ saeIds: ['sae-alice', 'sae-bob'], bits: 128, keyIds: [key.keyId] });
    expect(JSON.stringify(events)).not.toContain(key.material?.toString('hex'));
  });

  it('applies a message once when it is delivered many times at once', async () => {
    const messageId = `assignment-${randomUUID()}`;
    let runs = 0;
    const results = await Promise.all(
      others.map((ledger) =>
        ledger.processOnce(messageId, 'dqkd.assignments.kme-west', async (scope) => {
          runs += 1;
          await scope.outbox.append('dqkd.acks.kme-east', `ack-${messageId}`, Buffer.from('ack'));
          return 'applied';
        }),
      ),
    );
    expect(results.filter((result) => result.processed)).toEqual([{ processed: true, value: 'applied' }]);
    expect(runs).toBe(1);
    const [{ count }] = await context().ledger.dataSource.query(
      `SELECT count(*)::int AS count FROM outbox_messages WHERE msg_id = $1`,
      [`ack-${messageId}`],
    );
    expect(count).toBe(1);
    expect(await context().ledger.inbox.has(messageId, 'dqkd.assignments.kme-west')).toBe(true);
  });

  it('runs work under one name on one ledger of a site at a time, freeing it however it ends', async () => {
    const name = `regenerate ${randomUUID()}`;
    let release!: () => void;
    let entered!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const inside = new Promise<void>((resolve) => (entered = resolve));
    const first = others[0]!.exclusively(name, async () => (entered(), await held, 'first'));
    await inside;
    // Other ledgers (other replicas' pools) and this one alike find the name taken; another name is free.
    const meanwhile = await Promise.all([
      ...others.slice(1, 4).map((ledger) => ledger.exclusively(name, async () => 'again')),
      others[0]!.exclusively(name, async () => 'again'),
    ]);
    expect(meanwhile).toEqual(Array.from({ length: 4 }, () => ({ ran: false })));
    expect(await others[1]!.exclusively(`${name} other`, async () => 'other')).toEqual({
      ran: true,
      value: 'other',
    });
    release();
    expect(await first).toEqual({ ran: true, value: 'first' });
    const failing = others[2]!.exclusively(name, async () => {
      throw new Error('entropy server unreachable');
    });
    await expect(failing).rejects.toThrow('entropy server unreachable');
    expect(await others[3]!.exclusively(name, async () => 'after')).toEqual({ ran: true, value: 'after' });
  });

  it('frees a name whose holder lost its session, and goes on working after the failed unlock', async () => {
    const name = `regenerate ${randomUUID()}`;
    const { ledger } = context();
    const held = others[0]!.exclusively(name, async () => {
      // The holder's session ends, as when its host dies or its connection is cut.
      const [{ terminated }] = (await ledger.dataSource.query(
        `SELECT pg_terminate_backend(pid) AS terminated FROM pg_locks
         WHERE locktype = 'advisory' AND granted
           AND ((classid::bigint << 32) | objid::bigint) = hashtextextended($1, 0)`,
        [name],
      )) as { terminated: boolean }[];
      expect(terminated).toBe(true);
      // The server lets the lock go once it has ended the session, a moment after.
      for (let tries = 0; !(await others[1]!.exclusively(name, async () => 'taken over')).ran; tries++) {
        if (tries === 50) throw new Error('the lock outlived its session');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      return 'done';
    });
    expect(await held).toEqual({ ran: true, value: 'done' });
    expect(await others[0]!.exclusively(name, async () => 'again')).toEqual({ ran: true, value: 'again' });
  });

  it('leaves a message unrecorded when applying it fails, so a redelivery applies it', async () => {
    const { ledger } = context();
    const messageId = `metadata-${randomUUID()}`;
    const failing = ledger.processOnce(messageId, 'dqkd.metadata.kme-west', async (scope) => {
      await scope.outbox.append('dqkd.acks.kme-east', `ack-${messageId}`, Buffer.from('ack'));
      throw new Error('entropy server unreachable');
    });
    await expect(failing).rejects.toThrow('entropy server unreachable');
    expect(await ledger.inbox.has(messageId, 'dqkd.metadata.kme-west')).toBe(false);
    expect(await ledger.outbox.append('x', `ack-${messageId}`, Buffer.from('x'))).toBe(true);
    expect(await ledger.processOnce(messageId, 'dqkd.metadata.kme-west', async () => 'retried')).toEqual({
      processed: true,
      value: 'retried',
    });
  });

  it('hands out outbox messages in order until they are marked published', async () => {
    const { ledger } = context();
    const tag = randomUUID();
    expect(await ledger.outbox.append('dqkd.metadata.kme-west', `${tag}-1`, Buffer.from('one'))).toBe(true);
    expect(await ledger.outbox.append('dqkd.metadata.kme-west', `${tag}-1`, Buffer.from('again'))).toBe(
      false,
    );
    expect(await ledger.outbox.append('dqkd.metadata.kme-west', `${tag}-2`, Buffer.from('two'))).toBe(true);
    const pending = (await ledger.outbox.pending(1000)).filter((message) => message.msgId.startsWith(tag));
    expect(pending.map((message) => [message.msgId, message.payload.toString()])).toEqual([
      [`${tag}-1`, 'one'],
      [`${tag}-2`, 'two'],
    ]);
    // After a row: where a relay's pass goes on past a row it could not publish.
    const after = (await ledger.outbox.pending(1000, pending[0].id)).filter((message) =>
      message.msgId.startsWith(tag),
    );
    expect(after.map((message) => message.msgId)).toEqual([`${tag}-2`]);
    expect(await ledger.outbox.markPublished([pending[0].id])).toBe(1);
    expect(await ledger.outbox.markPublished([pending[0].id])).toBe(0);
    const left = (await ledger.outbox.pending(1000)).filter((message) => message.msgId.startsWith(tag));
    expect(left.map((message) => message.msgId)).toEqual([`${tag}-2`]);
  });

  it('finds the messages published between two instants and marks those asked for unpublished again', async () => {
    const { ledger } = context();
    const tag = randomUUID();
    for (const n of [1, 2, 3, 4, 5])
      await ledger.outbox.append('dqkd.kme-east.out.kme-west.metadata', `${tag}-${n}`, Buffer.from('m'));
    const pendingOnes = async () =>
      (await ledger.outbox.pending(1000)).filter((message) => message.msgId.startsWith(tag));
    await ledger.outbox.markPublished((await pendingOnes()).map((message) => message.id));
    await ledger.dataSource.query(
      `UPDATE outbox_messages SET created_at = now() - interval '1 hour' WHERE msg_id = $1`,
      [`${tag}-1`],
    );
    // The fourth is pending: not sent, so not found. The fifth was sent after the second instant.
    await ledger.dataSource.query(`UPDATE outbox_messages SET published_at = NULL WHERE msg_id = $1`, [
      `${tag}-4`,
    ]);
    await ledger.dataSource.query(
      `UPDATE outbox_messages SET published_at = now() + interval '1 minute' WHERE msg_id = $1`,
      [`${tag}-5`],
    );
    const since = new Date(Date.now() - 60_000);
    const before = new Date(Date.now() + 30_000);
    const sent = (await ledger.outbox.sentBetween(since, before, '0', 1000)).filter((message) =>
      message.msgId.startsWith(tag),
    );
    expect(sent.map(({ msgId, subject }) => ({ msgId, subject }))).toEqual(
      [2, 3].map((n) => ({ msgId: `${tag}-${n}`, subject: 'dqkd.kme-east.out.kme-west.metadata' })),
    );
    // Page by page: after the second, one at a time.
    expect(await ledger.outbox.sentBetween(since, before, sent[0]!.id, 1)).toEqual([sent[1]]);
    expect(await ledger.outbox.republish([sent[1]!.id])).toBe(1);
    // Only published ones are marked: asking again, or for a pending one, changes nothing.
    expect(await ledger.outbox.republish([sent[1]!.id])).toBe(0);
    expect(await ledger.outbox.republish([])).toBe(0);
    expect((await pendingOnes()).map((message) => message.msgId)).toEqual([`${tag}-3`, `${tag}-4`]);
  });

  it('keeps the messages sent with keys in the outbox as published, in the same statement as the keys', async () => {
    const { ledger } = context();
    const [first] = await targetKeys([bob], 2);
    const sentWith = (msgId: string) => ({
      subject: 'dqkd.kme-east.out.kme-west.assignment',
      msgId,
      payload: Buffer.from(`sealed ${msgId}`),
    });
    const link = await newLink(ledger, 1024);
    await readyBlocks(ledger, link, 1);
    const reserved = await ledger.reservations.reserve(link.id, 256);
    if (!reserved.ok) throw new Error('reservation failed');
    const key = { ...first!, keyId: randomUUID(), linkId: link.id, reservationId: reserved.reservation.id };
    const tag = randomUUID();
    expect(await ledger.keys.record([key], { sent: [sentWith(`${tag}-1`), sentWith(`${tag}-2`)] })).toBe(
      true,
    );
    const kept = async () =>
      (await ledger.dataSource.query(
        `SELECT msg_id, payload, published_at IS NOT NULL AS published FROM outbox_messages
         WHERE msg_id LIKE $1 ORDER BY id`,
        [`${tag}-%`],
      )) as { msg_id: string; payload: Buffer; published: boolean }[];
    expect(await kept()).toEqual(
      [1, 2].map((n) => ({
        msg_id: `${tag}-${n}`,
        payload: Buffer.from(`sealed ${tag}-${n}`),
        published: true,
      })),
    );
    // Keys refused (their bits are taken) keep nothing of their messages either.
    await expect(
      ledger.keys.record([{ ...key, keyId: randomUUID() }], { sent: [sentWith(`${tag}-3`)] }),
    ).rejects.toMatchObject({ reason: 'bits-already-used' });
    // A message ID the outbox holds already fails the statement, keys included, and is not called a key's.
    const free = { ...key, keyId: randomUUID(), offset: 128 };
    const clash = ledger.keys.record([free], { sent: [sentWith(`${tag}-1`)] });
    await expect(clash).rejects.toThrow(/outbox_messages_msg_id_unique/);
    await expect(clash).rejects.not.toBeInstanceOf(LedgerConflictError);
    expect(await ledger.keys.find([free.keyId])).toEqual([]);
    // A message processed before records no keys, and keeps nothing.
    const claim = {
      messageId: `assignment-${randomUUID()}`,
      subject: 'dqkd.kme-east.out.kme-west.assignment',
    };
    await ledger.processOnce(claim.messageId, claim.subject, async () => 'applied');
    const later = { ...key, keyId: randomUUID(), offset: 64, size: 64 };
    expect(await ledger.keys.record([later], { claim, sent: [sentWith(`${tag}-4`)] })).toBe(false);
    expect((await kept()).map((row) => row.msg_id)).toEqual([`${tag}-1`, `${tag}-2`]);
  });

  it('tells which of some message IDs were processed here on one subject', async () => {
    const { ledger } = context();
    const [done, other] = [`metadata:${randomUUID()}`, `metadata:${randomUUID()}`];
    const [subject, fromNorth] = [
      'dqkd.kme-east.out.kme-west.metadata',
      'dqkd.kme-north.out.kme-west.metadata',
    ];
    await ledger.processOnce(done, subject, async () => 'applied');
    expect(await ledger.inbox.processedAmong(subject, [done, other])).toEqual(new Set([done]));
    expect(await ledger.inbox.processedAmong(fromNorth, [done, other])).toEqual(new Set());
    expect(await ledger.inbox.processedAmong(subject, [])).toEqual(new Set());
  });

  it("applies one peer's message although another peer's message took its ID first", async () => {
    const { ledger } = context();
    const messageId = `metadata:${randomUUID()}`;
    const [genuine, forged] = ['dqkd.kme-east.out.kme-west.metadata', 'dqkd.kme-north.out.kme-west.metadata'];
    expect(await ledger.processOnce(messageId, forged, async () => 'refused')).toEqual({
      processed: true,
      value: 'refused',
    });
    expect(await ledger.processOnce(messageId, genuine, async () => 'applied')).toEqual({
      processed: true,
      value: 'applied',
    });
    expect(await ledger.processOnce(messageId, genuine, async () => 'again')).toEqual({ processed: false });
    expect(await ledger.inbox.has(messageId, genuine)).toBe(true);
    expect(await ledger.inbox.has(messageId, 'dqkd.kme-south.out.kme-west.metadata')).toBe(false);
  });

  it('deletes outbox messages published before the cut-off, and keeps pending and newer ones', async () => {
    const { ledger } = context();
    const tag = randomUUID();
    for (const n of [1, 2, 3])
      await ledger.outbox.append('dqkd.metadata.kme-west', `${tag}-${n}`, Buffer.from('m'));
    const rows = async () =>
      (
        (await ledger.dataSource.query(
          `SELECT msg_id FROM outbox_messages WHERE msg_id LIKE $1 ORDER BY id`,
          [`${tag}-%`],
        )) as { msg_id: string }[]
      ).map((row) => row.msg_id);
    await ledger.dataSource.query(
      `UPDATE outbox_messages SET published_at = now() - interval '4 hours' WHERE msg_id = $1`,
      [`${tag}-1`],
    );
    await ledger.dataSource.query(`UPDATE outbox_messages SET published_at = now() WHERE msg_id = $1`, [
      `${tag}-2`,
    ]);
    await ledger.dataSource.query(
      `UPDATE outbox_messages SET created_at = now() - interval '4 hours' WHERE msg_id = $1`,
      [`${tag}-3`],
    );
    const cutOff = new Date(Date.now() - 3_600_000);
    expect(await ledger.outbox.prune(cutOff, 1)).toBe(1);
    expect(await ledger.outbox.prune(cutOff, 1)).toBe(0);
    expect(await rows()).toEqual([`${tag}-2`, `${tag}-3`]);
  });

  it('forgets processed messages recorded before the cut-off and keeps the newer ones', async () => {
    const { ledger } = context();
    const [old, recent] = [`old-${randomUUID()}`, `recent-${randomUUID()}`];
    for (const messageId of [old, recent]) {
      await ledger.processOnce(messageId, 'dqkd.metadata.kme-west', async () => 'applied');
    }
    await ledger.dataSource.query(
      `UPDATE processed_messages SET processed_at = now() - interval '2 hours' WHERE message_id = $1`,
      [old],
    );
    expect(await ledger.inbox.prune(new Date(Date.now() - 3_600_000))).toBe(1);
    expect(await ledger.inbox.has(old, 'dqkd.metadata.kme-west')).toBe(false);
    expect(await ledger.inbox.has(recent, 'dqkd.metadata.kme-west')).toBe(true);
  });

  it('takes an empty list of IDs as nothing to do', async () => {
    const { ledger } = context();
    expect(await ledger.outbox.markPublished([])).toBe(0);
    expect(await ledger.keys.find([])).toEqual([]);
  });
});
