import { randomBytes, randomUUID } from 'node:crypto';

import { sliceBits, zeroBits } from '../src/bits';
import { LedgerConflictError } from '../src/errors';
import { Ledger, type LedgerScope } from '../src/ledger';
import { applyAssignment, KeyAssignment } from '../src/store/assignment';
import { HeldReservations } from '../src/store/held-reservations';
import { Link } from '../src/store/types';
import { DATABASE_MODES } from './support/test-database';
import { alterAtRest } from './support/alter-at-rest';
import { inAnHour, newLink, readyBlocks, useTestLedger } from './support/test-ledger';

describe.each(DATABASE_MODES)('carving keys on %s', (mode) => {
  const context = useTestLedger(mode);

  describe('blocks.takeBits (source side)', () => {
    it('answers the bits of the segments and zeroes exactly those bits in the stored blocks', async () => {
      const { ledger } = context();
      const link = await newLink(ledger, 1024);
      const [first, second] = await readyBlocks(ledger, link, 2);
      const segments = [
        { blockId: first.id, start: 1000, end: 1024 },
        { blockId: second.id, start: 3, end: 43 },
      ];
      const taken = await ledger.transaction((scope) => scope.blocks.takeBits(segments));
      expect(taken).toEqual(
        Buffer.concat([sliceBits(first.material, 1000, 24), sliceBits(second.material, 3, 40)]),
      );
      const afterFirst = (await ledger.blocks.readMaterial(first.id)) as Buffer;
      expect(sliceBits(afterFirst, 1000, 24)).toEqual(Buffer.alloc(3));
      expect(sliceBits(afterFirst, 0, 1000)).toEqual(sliceBits(first.material, 0, 1000));
      const afterSecond = (await ledger.blocks.readMaterial(second.id)) as Buffer;
      expect(sliceBits(afterSecond, 3, 40)).toEqual(Buffer.alloc(5));
      expect(sliceBits(afterSecond, 0, 3)).toEqual(sliceBits(second.material, 0, 3));
      expect(sliceBits(afterSecond, 43, 981)).toEqual(sliceBits(second.material, 43, 981));
    });

    it('answers undefined and changes nothing when a block holds no material', async () => {
      const { ledger } = context();
      const link = await newLink(ledger, 1024);
      const [kept, burned] = await readyBlocks(ledger, link, 2);
      await ledger.blocks.burn(burned.id, 'test');
      const taken = await ledger.blocks.takeBits([
        { blockId: kept.id, start: 0, end: 64 },
        { blockId: burned.id, start: 0, end: 64 },
      ]);
      expect(taken).toBeUndefined();
      expect(await ledger.blocks.readMaterial(kept.id)).toEqual(kept.material);
    });
  });

  describe('applyAssignment (target side)', () => {
    /** Target blocks with the same IDs and material as a source would hold. */
    async function targetBlocks(ledger: Ledger, link: Link, count: number, expiresAt = inAnHour()) {
      const blocks = Array.from({ length: count }, () => ({ id: randomUUID(), material: randomBytes(128) }));
      for (const block of blocks) {
        await ledger.blocks.store({
          ...block,
          linkId: link.id,
          role: 'target',
          state: 'ready',
          bits: 1024,
          metadata: Buffer.from('sealed metadata'),
          expiresAt,
        });
      }
      return blocks;
    }

    function assignmentFor(link: Link, blockIds: string[]): KeyAssignment {
      return {
        reservation: {
          id: randomUUID(),
          linkSource: link.sourceKmeId,
          linkTarget: link.targetKmeId,
          bits: 384,
          segments: [
            { blockId: blockIds[0], start: 896, end: 1024 },
            { blockId: blockIds[1], start: 0, end: 256 },
          ],
        },
        keys: [
          { keyId: randomUUID(), offset: 0, size: 256 },
          { keyId: randomUUID(), offset: 256, size: 128 },
        ],
        masterSaeId: 'sae-alice',
        slaves: [
          { kind: 'sae', id: 'sae-bob' },
          { kind: 'sae', id: 'sae-carol' },
        ],
        expiresAt: inAnHour(),
      };
    }

    const bob = { kind: 'sae', id: 'sae-bob' } as const;

    /** Scrubs until no group is left, so that a test's counts are its own groups' (the database is shared). */
    async function scrubAll(ledger: Ledger): Promise<void> {
      for (let round = 0; (await ledger.scrubKeyBits(1000)).groups > 0; round++) {
        if (round > 10) throw new Error('key groups are left not zeroed');
      }
    }

    /** A link with two blocks held at the target, and an assignment of keys on them. */
    async function heldAssignment() {
      const { ledger } = context();
      const link = await newLink(ledger, 1024);
      const blocks = await targetBlocks(ledger, link, 2);
      return {
        ledger,
        link,
        blocks,
        assignment: assignmentFor(
          link,
          blocks.map((block) => block.id),
        ),
      };
    }

    const textOf = (sent: unknown) => (typeof sent === 'string' ? sent : (sent as { text: string }).text);

    /** The statements a call sends on its transaction's connection (a pass-through spy on the real one). */
    async function statementsOf<T>(ledger: Ledger, run: (scope: LedgerScope) => Promise<T>) {
      return ledger.transaction(async (scope) => {
        const connection = (scope.manager.queryRunner as unknown as { databaseConnection: object })
          .databaseConnection as { query: (...args: unknown[]) => unknown };
        const query = jest.spyOn(connection, 'query');
        try {
          const result = await run(scope);
          return { result, statements: query.mock.calls.map(([sent]) => textOf(sent)) };
        } finally {
          query.mockRestore();
        }
      });
    }

    /** The assignment as two, one key each, as two enc_keys batches of one reservation would come. */
    const inTwo = (whole: KeyAssignment) => whole.keys.map((key) => ({ ...whole, keys: [key] }));

    it('records the keys with the material of their bits, ready for each slave', async () => {
      const { ledger, link, blocks, assignment } = await heldAssignment();
      const result = await ledger.transaction((scope) => applyAssignment(scope, assignment));
      expect(result).toEqual({ applied: true });
      const run = Buffer.concat([
        sliceBits(blocks[0].material, 896, 128),
        sliceBits(blocks[1].material, 0, 256),
      ]);
      const delivered = await ledger.keys.deliver(
        assignment.keys.map((key) => key.keyId),
        { kind: 'sae', id: 'sae-bob' },
      );
      expect(delivered).toEqual({
        ok: true,
        keys: [
          { keyId: assignment.keys[0].keyId, material: run.subarray(0, 32) },
          { keyId: assignment.keys[1].keyId, material: run.subarray(32, 48) },
        ],
      });
      const [record] = await ledger.keys.find([assignment.keys[0].keyId]);
      expect(record).toMatchObject({ masterSaeId: 'sae-alice', size: 256, linkId: link.id });
      expect(record.slaves.map((slave) => slave.id)).toEqual(['sae-bob', 'sae-carol']);
    });

    it("zeroes recorded keys' bits in its blocks on a scrub, and no other bit", async () => {
      const { ledger, blocks, assignment } = await heldAssignment();
      await scrubAll(ledger);
      const [first, second] = inTwo(assignment);
      await ledger.transaction((scope) => applyAssignment(scope, first));
      // The first key's 256 bits: the last 128 of the first block and the first 128 of the second.
      expect(await ledger.scrubKeyBits(1000)).toMatchObject({ groups: 1, keys: 1, blocks: 2 });
      const expected = blocks.map((block) => Buffer.from(block.material));
      zeroBits(expected[0], 896, 128);
      zeroBits(expected[1], 0, 128);
      expect(await Promise.all(blocks.map((block) => ledger.blocks.readMaterial(block.id)))).toEqual(
        expected,
      );

      // The second key's bits were left alone: it is recorded whole from them, and the first from its own row.
      await ledger.transaction((scope) => applyAssignment(scope, second));
      const bob = { kind: 'sae', id: 'sae-bob' } as const;
      expect(await ledger.keys.deliver([second.keys[0].keyId, first.keys[0].keyId], bob)).toEqual({
        ok: true,
        keys: [
          { keyId: second.keys[0].keyId, material: sliceBits(blocks[1].material, 128, 128) },
          {
            keyId: first.keys[0].keyId,
            material: Buffer.concat([
              sliceBits(blocks[0].material, 896, 128),
              sliceBits(blocks[1].material, 0, 128),
            ]),
          },
        ],
      });
      // Only the group not zeroed yet is looked at.
      expect(await ledger.scrubKeyBits(1000)).toMatchObject({ groups: 1, keys: 1, blocks: 1 });
      zeroBits(expected[1], 128, 128);
      expect(await ledger.blocks.readMaterial(blocks[1].id)).toEqual(expected[1]);
      expect(await ledger.scrubKeyBits(1000)).toMatchObject({ groups: 0, keys: 0, blocks: 0 });
    });

    // A key's recording time is its statement's start: one that began before a scrub looked and committed after
    // was in no scrub's window, and the reaper could delete it before its bits were zeroed.
    it('zeroes the bits of a key committed after a scrub looked, before the reaper may delete it', async () => {
      const { ledger, blocks, assignment } = await heldAssignment();
      await scrubAll(ledger);
      const expiring = { ...assignment, expiresAt: new Date(Date.now() + 1_000) };
      await ledger.transaction(async (scope) => {
        await applyAssignment(scope, expiring);
        // On another connection, before the keys commit.
        expect(await ledger.scrubKeyBits(1000)).toMatchObject({ groups: 0 });
      });
      const ids = expiring.keys.map((key) => key.keyId);
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      const reap = () => ledger.reapExpired({ now: new Date(), targetGraceMs: 60_000 });
      await reap();
      expect(await ledger.keys.find(ids)).toHaveLength(2);
      expect(await ledger.keys.readMaterial(ids[0]!)).toBeUndefined();

      expect(await ledger.scrubKeyBits(1000)).toMatchObject({ groups: 2, keys: 2, blocks: 2 });
      await reap();
      expect(await ledger.keys.find(ids)).toEqual([]);
      const expected = blocks.map((block) => Buffer.from(block.material));
      zeroBits(expected[0], 896, 128);
      zeroBits(expected[1], 0, 256);
      expect(await Promise.all(blocks.map((block) => ledger.blocks.readMaterial(block.id)))).toEqual(
        expected,
      );
    });

    it('tries a block again whose KEK version this keyring lacks, and goes on past it within a round', async () => {
      const { ledger, blocks, assignment } = await heldAssignment();
      const other = await heldAssignment();
      await scrubAll(ledger);
      await ledger.transaction((scope) => applyAssignment(scope, assignment));
      await ledger.transaction((scope) => applyAssignment(scope, other.assignment));
      // Wrapped under a version this ledger's keyring does not have (a reaper not rotated yet): not tampered.
      const [{ kek }] = (await ledger.dataSource.query(
        `SELECT material_kek_id AS kek FROM blocks WHERE id = $1`,
        [blocks[0].id],
      )) as { kek: number }[];
      await ledger.dataSource.query(`UPDATE blocks SET material_kek_id = 99 WHERE id = $1`, [blocks[0].id]);
      try {
        const first = await ledger.scrubKeyBits(2);
        expect([...first.failed.keys()]).toEqual([blocks[0].id]);
        expect(first.next).toBeDefined();
        // The next batch goes on after those groups: the other assignment's are zeroed.
        expect(await ledger.scrubKeyBits(1000, first.next)).toMatchObject({ groups: 2, blocks: 2 });
        // A later round tries the first assignment's group on that block again.
        const again = await ledger.scrubKeyBits(1000);
        expect(again.groups).toBe(1);
        expect([...again.failed.keys()]).toEqual([blocks[0].id]);
      } finally {
        // The database is shared: its version back, so that the other tests' scrubs zero it.
        await ledger.dataSource.query(`UPDATE blocks SET material_kek_id = $2 WHERE id = $1`, [
          blocks[0].id,
          kek,
        ]);
      }
    });

    it('leaves alone the bits of a reservation that lost a block, and goes on past a block that does not open', async () => {
      const { ledger, blocks, assignment } = await heldAssignment();
      const other = await heldAssignment();
      await scrubAll(ledger);
      await ledger.transaction((scope) => applyAssignment(scope, assignment));
      await ledger.transaction((scope) => applyAssignment(scope, other.assignment));
      // The first block burned at its deadline takes its bit ranges along: the keys' offsets no longer map.
      await ledger.dataSource.query(`DELETE FROM blocks WHERE id = $1`, [blocks[0].id]);
      // The other assignment's first block is altered at rest.
      await alterAtRest(ledger, 'blocks', [other.blocks[0].id]);
      const scrub = await ledger.scrubKeyBits(1000);
      expect([...scrub.failed.keys()]).toEqual([other.blocks[0].id]);
      expect(scrub.blocks).toBe(1);
      // Neither is looked at again: the first has no bits left to zero, the other's block is given up on.
      expect(await ledger.scrubKeyBits(1000)).toMatchObject({ groups: 0 });
      expect(await ledger.blocks.readMaterial(blocks[1].id)).toEqual(blocks[1].material);
      const expected = Buffer.from(other.blocks[1].material);
      zeroBits(expected, 0, 256);
      expect(await ledger.blocks.readMaterial(other.blocks[1].id)).toEqual(expected);
    });

    it('claims its message in the statement that records the keys, outside any transaction', async () => {
      const { ledger, assignment } = await heldAssignment();
      const claim = { messageId: `assignment:${randomUUID()}`, subject: 'test.assignment' };
      // Concurrent deliveries of one message: exactly one records the keys.
      const results = await Promise.all([1, 2, 3].map(() => applyAssignment(ledger, assignment, claim)));
      expect(results.filter((result) => result.applied)).toHaveLength(1);
      expect(await ledger.inbox.has(claim.messageId, claim.subject)).toBe(true);
      expect(await ledger.keys.find(assignment.keys.map((key) => key.keyId))).toHaveLength(2);
      // Once processed, a message has no second effect, even when its keys are gone since.
      await ledger.dataSource.query(`DELETE FROM keys WHERE key_id = ANY ($1::uuid[])`, [
        assignment.keys.map((key) => key.keyId),
      ]);
      expect(await applyAssignment(ledger, assignment, claim)).toEqual({ applied: false });
      expect(await ledger.keys.find(assignment.keys.map((key) => key.keyId))).toEqual([]);
    });

    it("applies an assignment whose message ID another peer's message took first", async () => {
      const { ledger, assignment } = await heldAssignment();
      const claim = {
        messageId: `assignment:${randomUUID()}`,
        subject: 'test.kme-east.out.kme-west.assignment',
      };
      await ledger.processOnce(
        claim.messageId,
        'test.kme-north.out.kme-west.assignment',
        async () => 'refused',
      );
      expect(await applyAssignment(ledger, assignment, claim)).toEqual({ applied: true });
      expect(await ledger.keys.find(assignment.keys.map((key) => key.keyId))).toHaveLength(2);
      expect(await ledger.inbox.has(claim.messageId, claim.subject)).toBe(true);
    });

    it('leaves the message unclaimed when its keys cannot be recorded', async () => {
      const { ledger, link, blocks, assignment } = await heldAssignment();
      await applyAssignment(ledger, assignment);
      // Another assignment with a key ID already taken: refused, and the message stays unprocessed for a retry.
      const clash = assignmentFor(
        link,
        blocks.map((block) => block.id),
      );
      const taken = {
        ...clash,
        reservation: { ...clash.reservation, segments: [{ blockId: blocks[0].id, start: 0, end: 384 }] },
        keys: [{ ...clash.keys[0]!, keyId: assignment.keys[0]!.keyId }, clash.keys[1]!],
      };
      const claim = { messageId: `assignment:${randomUUID()}`, subject: 'test.assignment' };
      await expect(applyAssignment(ledger, taken, claim)).rejects.toMatchObject({ reason: 'key-id-taken' });
      expect(await ledger.inbox.has(claim.messageId, claim.subject)).toBe(false);
      expect(await ledger.keys.find([clash.keys[1]!.keyId])).toEqual([]);
    });

    it("refuses an assignment whose key IDs another link's keys hold, not taking it as applied", async () => {
      const first = await heldAssignment();
      await applyAssignment(first.ledger, first.assignment);
      const { ledger, assignment } = await heldAssignment();
      const sameIds = {
        ...assignment,
        keys: assignment.keys.map((key, i) => ({ ...key, keyId: first.assignment.keys[i]!.keyId })),
      };
      await expect(applyAssignment(ledger, sameIds)).rejects.toMatchObject({ reason: 'key-id-taken' });
    });

    it('records nothing the second time the same assignment is applied', async () => {
      const { ledger, assignment } = await heldAssignment();
      await ledger.transaction((scope) => applyAssignment(scope, assignment));
      const again = await ledger.transaction((scope) => applyAssignment(scope, assignment));
      expect(again).toEqual({ applied: false });
      expect(await ledger.keys.find(assignment.keys.map((key) => key.keyId))).toHaveLength(2);
    });

    it("records the reservation in two round trips: its blocks' locks, then one statement for the rest", async () => {
      const { ledger, assignment } = await heldAssignment();
      const { reservation } = assignment;
      const linkId = (await ledger.links.idOf(reservation.linkSource, reservation.linkTarget))!;
      // Assignments carved from a new reservation queue behind these locks; each round trip under them counts.
      const recording = await statementsOf(ledger, (scope) =>
        scope.reservations.record({ ...reservation, linkId }),
      );
      const again = await ledger.reservations.record({ ...reservation, linkId });
      const sent = { first: recording.result, again, calls: recording.statements.length };
      expect(sent).toEqual({ first: true, again: false, calls: 2 });
      expect(await ledger.reservations.find(reservation.id)).toEqual({
        id: reservation.id,
        linkId,
        bits: reservation.bits,
        segments: reservation.segments,
      });
    });

    it('applies assignments carved from one reservation in several batches, even when they arrive at once', async () => {
      const { ledger, blocks, assignment: whole } = await heldAssignment();
      // The gateway's batches: each names the whole reservation and its own keys at disjoint offsets.
      const batches = inTwo(whole);
      const results = await Promise.all(
        batches.map((batch) => ledger.transaction((scope) => applyAssignment(scope, batch))),
      );
      expect(results).toEqual([{ applied: true }, { applied: true }]);
      const delivered = await ledger.keys.deliver(
        whole.keys.map((key) => key.keyId),
        { kind: 'sae', id: 'sae-carol' },
      );
      const run = Buffer.concat([
        sliceBits(blocks[0].material, 896, 128),
        sliceBits(blocks[1].material, 0, 256),
      ]);
      expect(delivered).toEqual({
        ok: true,
        keys: [
          { keyId: whole.keys[0].keyId, material: run.subarray(0, 32) },
          { keyId: whole.keys[1].keyId, material: run.subarray(32, 48) },
        ],
      });
    });

    describe('with held reservations', () => {
      let held: HeldReservations;
      beforeEach(() => (held = new HeldReservations()));
      afterEach(() => held.clear());

      it("applies a reservation's later assignments in one statement each, which reads no block", async () => {
        const { ledger, blocks, assignment: whole } = await heldAssignment();
        const [first, second] = inTwo(whole);
        expect(await applyAssignment(ledger, first!, undefined, held)).toEqual({ applied: true });
        const claim = { messageId: `assignment:${randomUUID()}`, subject: 'test.assignment' };
        const later = await statementsOf(ledger, (scope) => applyAssignment(scope, second!, claim, held));
        expect(later.result).toEqual({ applied: true });
        expect(later.statements).toHaveLength(1);
        expect(later.statements[0]).not.toMatch(/\bblocks\b/);
        const run = Buffer.concat([
          sliceBits(blocks[0].material, 896, 128),
          sliceBits(blocks[1].material, 0, 256),
        ]);
        expect(await ledger.keys.deliver([second!.keys[0].keyId, first!.keys[0].keyId], bob)).toEqual({
          ok: true,
          keys: [
            { keyId: second!.keys[0].keyId, material: run.subarray(32, 48) },
            { keyId: first!.keys[0].keyId, material: run.subarray(0, 32) },
          ],
        });
        // Every bit of the reservation is in a key now: nothing of it stays in memory.
        expect(held.heldBytes).toBe(0);
      });

      it('has no second effect for a redelivery, nor for the same keys under another message', async () => {
        const { ledger, assignment: whole } = await heldAssignment();
        const [first, second] = inTwo(whole);
        await applyAssignment(ledger, first!, undefined, held);
        const claim = { messageId: `assignment:${randomUUID()}`, subject: 'test.assignment' };
        expect(await applyAssignment(ledger, second!, claim, held)).toEqual({ applied: true });
        expect(await applyAssignment(ledger, second!, claim, held)).toEqual({ applied: false });
        const other = { messageId: `assignment:${randomUUID()}`, subject: 'test.assignment' };
        expect(await applyAssignment(ledger, second!, other, held)).toEqual({ applied: false });
        expect(await ledger.keys.find([second!.keys[0].keyId])).toHaveLength(1);
      });

      it('refuses an assignment naming a recorded reservation on other bits, held or not', async () => {
        const { ledger, assignment: whole } = await heldAssignment();
        const [first, second] = inTwo(whole);
        await applyAssignment(ledger, first!, undefined, held);
        // Same reservation ID, other bits (the first 128 of the block, which another reservation may hold).
        const moved = {
          ...second!,
          reservation: {
            ...whole.reservation,
            segments: [
              { ...whole.reservation.segments[0]!, start: 0, end: 128 },
              whole.reservation.segments[1]!,
            ],
          },
        };
        await expect(applyAssignment(ledger, moved, undefined, held)).rejects.toMatchObject({
          reason: 'segments-not-on-link',
        });
        await expect(applyAssignment(ledger, moved)).rejects.toMatchObject({
          reason: 'segments-not-on-link',
        });
        expect(await ledger.keys.find([second!.keys[0].keyId])).toEqual([]);
        expect(await applyAssignment(ledger, second!, undefined, held)).toEqual({ applied: true });
      });

      it('holds no bits past the deadline of the blocks they come from', async () => {
        const { ledger } = context();
        const link = await newLink(ledger, 1024);
        const blocks = await targetBlocks(ledger, link, 2, new Date(Date.now() - 1_000));
        const assignment = assignmentFor(
          link,
          blocks.map((block) => block.id),
        );
        const [first] = inTwo(assignment);
        expect(await applyAssignment(ledger, first!, undefined, held)).toEqual({ applied: true });
        expect(held.heldBytes).toBe(0);
      });
    });

    it('tells listeners once a transaction that applied an assignment commits, not before', async () => {
      const { ledger, assignment } = await heldAssignment();
      let heard = 0;
      const stop = await ledger.onKeysRecorded(() => (heard += 1));
      try {
        await ledger.transaction(async (scope) => {
          await applyAssignment(scope, assignment);
          await new Promise((resolve) => setTimeout(resolve, 100));
          expect(heard).toBe(0);
        });
        const deadline = Date.now() + 2_000;
        while (heard === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
        expect(heard).toBe(1);
      } finally {
        await stop();
      }
    });

    it('refuses an assignment on blocks it does not hold and leaves no trace', async () => {
      const { ledger } = context();
      const link = await newLink(ledger, 1024);
      const [held] = await targetBlocks(ledger, link, 1);
      const assignment = assignmentFor(link, [held.id, randomUUID()]);
      await expect(ledger.transaction((scope) => applyAssignment(scope, assignment))).rejects.toBeInstanceOf(
        LedgerConflictError,
      );
      expect(await ledger.reservations.find(assignment.reservation.id)).toBeUndefined();
      expect(await ledger.keys.find(assignment.keys.map((key) => key.keyId))).toEqual([]);
    });

    it('refuses an assignment for a link this site does not know', async () => {
      const { ledger } = context();
      const link = await newLink(ledger, 1024);
      const blocks = await targetBlocks(ledger, link, 2);
      const assignment = assignmentFor(
        { ...link, sourceKmeId: 'kme-nowhere' },
        blocks.map((block) => block.id),
      );
      await expect(ledger.transaction((scope) => applyAssignment(scope, assignment))).rejects.toBeInstanceOf(
        LedgerConflictError,
      );
    });
  });
});
