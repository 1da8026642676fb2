import { randomUUID } from 'node:crypto';
import { createServer, type Socket } from 'node:net';

import { generateBlock, sealMetadata, type BlockMetadata } from '@dqkd/blast';
import { createEntropySources } from '@dqkd/entropy';
import type { Ledger } from '@dqkd/ledger';
import { sealAssignment, sealBlockAck, type Assignment } from '@dqkd/messaging';
import { jetstream } from '@nats-io/jetstream';

import type { AppProcess } from './support/app-process';
import { BLOCK_BITS, blocksOf, eventually, FlowNetwork, HIGH_WATERMARK_BITS } from './support/flow-network';

const METADATA_TO_WEST = 'dqkd.kme-east.out.kme-west.metadata';
const ASSIGNMENT_TO_WEST = 'dqkd.kme-east.out.kme-west.assignment';
const ACK_TO_EAST = 'dqkd.kme-west.out.kme-east.block-ack';
const ACK_TIMEOUT_MS = 5000;

describe('pool filling and replication between two sites over NATS JetStream', () => {
  let network: FlowNetwork;
  let east: Ledger;
  let west: Ledger;
  let westReplication: AppProcess;

  beforeAll(async () => {
    network = await FlowNetwork.start();
    [, , westReplication] = await Promise.all([
      network.startApp('key-generator', 'kme-east', { DQKD_BLOCK_ACK_TIMEOUT_MS: String(ACK_TIMEOUT_MS) }),
      network.startApp('replication', 'kme-east'),
      network.startApp('replication', 'kme-west'),
    ]);
    east = await network.ledger('kme-east');
    west = await network.ledger('kme-west');
  }, 120_000);

  afterAll(() => network?.stop(), 60_000);

  /** Publishes the blocks' metadata to kme-west, then an assignment, which must apply within 10 s. */
  async function publishAndApply(waiting: readonly { sealed: Uint8Array; blockId: string }[]): Promise<void> {
    const js = jetstream(await network.connection());
    for (const { sealed, blockId } of waiting) {
      await js.publish(METADATA_TO_WEST, sealed, { msgID: `metadata:${blockId}` });
    }
    const { sealed, reservationId, keyId } = await sealedAssignment(600_000);
    await js.publish(ASSIGNMENT_TO_WEST, sealed, { msgID: `assignment:${reservationId}` });
    await eventually(async () => (await west.keys.find([keyId])).length === 1, 10_000, 'the assignment');
  }

  /** An assignment of one 256-bit key that kme-east reserves now, decodable for `ttlMs`, sealed to kme-west. */
  async function sealedAssignment(ttlMs: number) {
    const link = (await east.links.find('kme-east', 'kme-west'))!;
    const reserved = await east.reservations.reserve(link.id, 256);
    if (!reserved.ok) throw new Error('the pool cannot cover 256 bits');
    const keyId = randomUUID();
    const assignment: Assignment = {
      reservation: { ...reserved.reservation, linkSource: 'kme-east', linkTarget: 'kme-west' },
      keys: [{ keyId, offset: 0, size: 256 }],
      masterSaeId: 'sae-alice',
      slaves: [{ kind: 'sae', id: 'sae-bob' }],
      expiresAt: new Date(Date.now() + ttlMs),
    };
    const { identity } = await network.entropy.credentials('kme-east');
    const kem = network.entropy.network.kme('kme-west')!.sealing.kemPublicKey;
    const sealed = sealAssignment(assignment, identity.sigSecretKey, kem);
    return { sealed, reservationId: reserved.reservation.id, keyId };
  }

  /** Runs `test` with every entropy server killed, and starts them again after it. */
  async function withoutEntropyServers(test: () => Promise<void>): Promise<void> {
    const servers = ['entropy-1', 'entropy-2', 'entropy-3'];
    for (const id of servers) {
      const server = network.running('entropy-server', id);
      server.signal('SIGKILL');
      await server.exit();
    }
    try {
      await test();
    } finally {
      await Promise.all(servers.map((id) => network.startEntropyServer(id)));
    }
  }

  /**
   * A block kme-east generated from the network's entropy servers, its metadata sealed to kme-west; its samples
   * readable for `sampleLifetimeMs` from their lease (by default until the block's deadline).
   */
  async function sealedBlock(
    sampleLifetimeMs?: number,
    change: (metadata: BlockMetadata) => BlockMetadata = (m) => m,
  ) {
    const credentials = await network.entropy.credentials('kme-east');
    const sources = createEntropySources(network.entropy.network, credentials);
    const now = Date.now();
    const sampleDeadline = sampleLifetimeMs === undefined ? undefined : now + sampleLifetimeMs;
    const generated = await generateBlock({
      source: 'kme-east',
      target: 'kme-west',
      blockBits: BLOCK_BITS,
      minEntropyRate: 1,
      sources: sources.forGeneration,
      now,
      expiresAt: now + 3_600_000,
      sampleDeadline,
    });
    sources.close();
    const metadata = change(generated.metadata);
    const sealed = sealMetadata(
      metadata,
      credentials.identity.sigSecretKey,
      network.entropy.network.kme('kme-west')!.sealing.kemPublicKey,
    );
    return { generated, sealed, blockId: metadata.blockId, sampleDeadline };
  }

  const readyAt = async (ledger: Ledger) => (await blocksOf(ledger)).filter((b) => b.state === 'ready');
  const count = async (ledger: Ledger, table: string) =>
    Number(((await ledger.manager.query(`SELECT count(*) AS n FROM ${table}`)) as { n: string }[])[0].n);

  it('fills kme-east → kme-west to its high watermark with blocks ready at both ends', async () => {
    const full = HIGH_WATERMARK_BITS / BLOCK_BITS;
    await eventually(async () => (await readyAt(east)).length >= full, 60_000, 'a full pool at kme-east');

    const source = await readyAt(east);
    const target = await readyAt(west);
    expect(source).toHaveLength(full);
    expect(source.every((b) => b.role === 'source')).toBe(true);
    expect(target.map((b) => [b.id, b.role])).toEqual(
      expect.arrayContaining(source.map((b) => [b.id, 'target'])),
    );
  }, 90_000);

  /** The ready blocks at kme-east, which the tests below check one by one: never none. */
  const readyBlocks = async () => {
    const ready = await readyAt(east);
    expect(ready.length).toBeGreaterThan(0);
    return ready;
  };

  it('holds bit-identical material at both ends of every block', async () => {
    for (const { id } of await readyBlocks()) {
      const [a, b] = [await east.blocks.readMaterial(id), await west.blocks.readMaterial(id)];
      expect(a?.length).toBe(BLOCK_BITS / 8);
      expect(b?.equals(a!)).toBe(true);
    }
  });

  it('never puts block material in a NATS message', async () => {
    const messages = [
      ...(await network.streamMessages('DQKD_KME_EAST_OUT')),
      ...(await network.streamMessages('DQKD_KME_WEST_OUT')),
      ...(await network.streamMessages('DQKD_KME_WEST_IN')),
      ...(await network.streamMessages('DQKD_KME_EAST_IN')),
    ];
    expect(messages.filter((m) => m.subject.endsWith('.metadata')).length).toBeGreaterThan(0);
    expect(messages.filter((m) => m.subject.endsWith('.block-ack')).length).toBeGreaterThan(0);
    for (const { id } of await readyBlocks()) {
      const material = (await east.blocks.readMaterial(id))!;
      for (let at = 0; at + 16 <= material.length; at += 16) {
        const window = material.subarray(at, at + 16);
        expect(messages.some((m) => Buffer.from(m.data).includes(window))).toBe(false);
      }
    }
  });

  it('gives a metadata message that comes again no second effect', async () => {
    const [block] = await readyAt(east);
    const before = await Promise.all(
      ['blocks', 'outbox_messages', 'processed_messages'].map((t) => count(west, t)),
    );
    const { metadata } = (await east.blocks.find(block.id))!;

    await network.publishAndSettle(METADATA_TO_WEST, metadata, `again:${block.id}`, 'kme-west');

    const after = await Promise.all(
      ['blocks', 'outbox_messages', 'processed_messages'].map((t) => count(west, t)),
    );
    expect(after).toEqual(before);
    expect((await west.blocks.find(block.id))?.state).toBe('ready');
  });

  it('regenerates blocks whose metadata comes twice at once on two replicas, reporting nothing', async () => {
    const replica = await network.startApp('replication', 'kme-west');
    try {
      const blocks = await Promise.all(Array.from({ length: 6 }, () => sealedBlock(600_000)));
      // Two publishes under different message IDs get past the broker's duplicate window, as a resend or a
      // copy the IN stream took twice would; the handlers of both replicas take them at once. Six blocks, as
      // the broker spreads the copies over the replicas as it will and only copies on both can collide: this
      // catches a guard that holds within one process only by chance (Ledger.exclusively has its own test).
      await Promise.all(
        blocks.map(({ sealed, blockId }) =>
          network.publishAndSettle(
            METADATA_TO_WEST,
            sealed,
            [`metadata:${blockId}`, `resent:${blockId}`],
            'kme-west',
          ),
        ),
      );

      for (const { blockId } of blocks) {
        expect((await west.blocks.find(blockId))?.state).toBe('ready');
        for (const app of [westReplication, replica]) {
          expect(app.text).not.toContain(`block ${blockId} from kme-east rejected`);
        }
      }
    } finally {
      replica.signal('SIGTERM');
      await replica.exit();
    }
  }, 120_000);

  it('leaves no trace of an acknowledgement for a block that is not its own', async () => {
    const blockId = randomUUID();
    const { identity } = await network.entropy.credentials('kme-west');
    const sealed = sealBlockAck(
      { blockId, outcome: 'ready' },
      { from: 'kme-west', to: 'kme-east', expiresAt: Date.now() + 600_000 },
      identity.sigSecretKey,
      network.entropy.network.kme('kme-east')!.sealing.kemPublicKey,
    );
    await network.publishAndSettle(ACK_TO_EAST, sealed, `block-ack:${blockId}`, 'kme-east');
    // Its message ID stays free for the acknowledgement of the block's own target.
    expect(await east.inbox.has(`block-ack:${blockId}`, ACK_TO_EAST)).toBe(false);
  });

  it('applies a key assignment once, so that the slave at kme-west gets the bits kme-east carved', async () => {
    const link = (await east.links.find('kme-east', 'kme-west'))!;
    const reserved = await east.reservations.reserve(link.id, 512);
    if (!reserved.ok) throw new Error('the pool cannot cover 512 bits');
    const { reservation } = reserved;
    const carved = (await east.blocks.readBits(reservation.segments))!;
    const assignment: Assignment = {
      reservation: { ...reservation, linkSource: 'kme-east', linkTarget: 'kme-west' },
      keys: [
        { keyId: randomUUID(), offset: 0, size: 256 },
        { keyId: randomUUID(), offset: 256, size: 256 },
      ],
      masterSaeId: 'sae-alice',
      slaves: [{ kind: 'sae', id: 'sae-bob' }],
      expiresAt: new Date(Date.now() + 600_000),
    };
    const { identity } = await network.entropy.credentials('kme-east');
    const kem = network.entropy.network.kme('kme-west')!.sealing.kemPublicKey;
    const sealed = sealAssignment(assignment, identity.sigSecretKey, kem);

    await network.publishAndSettle(ASSIGNMENT_TO_WEST, sealed, `assignment:${reservation.id}`, 'kme-west');
    await network.publishAndSettle(ASSIGNMENT_TO_WEST, sealed, `again:${reservation.id}`, 'kme-west');

    const keyIds = assignment.keys.map((key) => key.keyId);
    expect(await west.keys.find(keyIds)).toHaveLength(2);
    const delivered = await west.keys.deliver(keyIds, { kind: 'sae', id: 'sae-bob' });
    if (!delivered.ok) throw new Error(`not delivered: ${delivered.reason}`);
    expect(Buffer.concat(delivered.keys.map((key) => key.material)).equals(carved)).toBe(true);
  });

  it('refuses a tampered envelope, and the source burns the block it never saw confirmed', async () => {
    const { generated, sealed, blockId } = await sealedBlock();
    const link = (await east.links.find('kme-east', 'kme-west'))!;
    await east.blocks.store({
      id: blockId,
      linkId: link.id,
      role: 'source',
      state: 'pending',
      material: Buffer.from(generated.block),
      bits: BLOCK_BITS,
      metadata: Buffer.from(sealed),
      expiresAt: new Date(generated.metadata.expiresAt),
    });
    const tampered = Buffer.from(sealed);
    tampered[tampered.length - 100] ^= 1;

    await network.publishAndSettle(METADATA_TO_WEST, tampered, `metadata:${blockId}`, 'kme-west');

    expect(await west.blocks.find(blockId)).toBeUndefined();
    expect(westReplication.text).toContain(`refused metadata on ${METADATA_TO_WEST}: envelope-bad-signature`);
    const health = /health on (http:\/\/[^/\s]+)\//.exec(westReplication.text)![1];
    const metrics = await (await fetch(`${health}/metrics`)).text();
    expect(metrics).toContain('dqkd_replication_refused_total{kind="metadata"} 1');
    expect(metrics).toMatch(/^dqkd_blocks_regenerated_total [1-9]/m);
    await eventually(
      async () => (await east.blocks.find(blockId))?.state === 'burned',
      ACK_TIMEOUT_MS + 10_000,
      'the unconfirmed block to burn at kme-east',
    );
    expect((await east.blocks.find(blockId))?.burnReason).toBe('unconfirmed by the target');
  }, 60_000);

  it('takes no clock skew from a message it refuses or has applied already, whatever send time its header claims', async () => {
    const { sealed, blockId } = await sealedBlock();
    // Applied: the estimate of the minute exists from here on.
    await network.publishAndSettle(METADATA_TO_WEST, sealed, `metadata:${blockId}`, 'kme-west', {
      'Dqkd-Sent-At': String(Date.now()),
    });
    expect((await west.blocks.find(blockId))?.state).toBe('ready');
    const tampered = Buffer.from(sealed);
    tampered[tampered.length - 100] ^= 1;
    // A day ahead: as the smallest offset of the minute, it would be the estimate.
    const forged = { 'Dqkd-Sent-At': String(Date.now() + 86_400_000) };
    await network.publishAndSettle(METADATA_TO_WEST, tampered, `skew:${blockId}`, 'kme-west', forged);
    // A copy of the valid envelope under another message ID: acknowledged as a duplicate.
    await network.publishAndSettle(METADATA_TO_WEST, sealed, `copy:${blockId}`, 'kme-west', forged);
    const health = /health on (http:\/\/[^/\s]+)\//.exec(westReplication.text)![1];
    const metrics = await (await fetch(`${health}/metrics`)).text();
    const skew = /^dqkd_peer_clock_skew_seconds\{peer="kme-east"\} (\S+)$/m.exec(metrics);
    expect(skew).not.toBeNull();
    expect(Math.abs(Number(skew![1]))).toBeLessThan(60);
  });

  it('rejects a block whose samples are past their deadline at once, even with no entropy server in reach', async () => {
    const { sealed, blockId, sampleDeadline } = await sealedBlock(3_000);
    await withoutEntropyServers(async () => {
      await new Promise((resolve) => setTimeout(resolve, sampleDeadline! + 100 - Date.now()));
      // Settled (acknowledged), not held for another try: every read would fail for want of a server.
      await network.publishAndSettle(METADATA_TO_WEST, sealed, `metadata:${blockId}`, 'kme-west');
      expect(await west.blocks.find(blockId)).toBeUndefined();
      expect(westReplication.text).toContain(`block ${blockId} from kme-east rejected (samples-refused)`);
    });
  }, 60_000);

  it.each([
    [
      'a deadline beyond the longest life of a block',
      (m: BlockMetadata) => ({ ...m, expiresAt: Date.now() + 30 * 24 * 3_600_000 }),
      /lies beyond the longest life of a block/,
    ],
    [
      'a sample of an entropy server this site does not use',
      (m: BlockMetadata) => ({
        ...m,
        samples: [{ ...m.samples[0]!, serverId: 'entropy-9' }, ...m.samples.slice(1)],
      }),
      /its sample of entropy-9 lies on an entropy server this site does not use/,
    ],
  ])('rejects at once metadata with %s', async (_case, change, why) => {
    const { sealed, blockId } = await sealedBlock(600_000, change);
    await network.publishAndSettle(METADATA_TO_WEST, sealed, `metadata:${blockId}`, 'kme-west');
    expect(await west.blocks.find(blockId)).toBeUndefined();
    const line = westReplication.text
      .split('\n')
      .find((l) => l.includes(`block ${blockId} from kme-east rejected`));
    expect(line).toContain('(metadata-refused)');
    expect(line).toMatch(why);
  });

  it('rejects metadata naming a block this site already holds, and leaves that block as it was', async () => {
    const link = (await west.links.find('kme-east', 'kme-west'))!;
    const heldId = randomUUID();
    const held = await west.blocks.store({
      id: heldId,
      linkId: link.id,
      role: 'target',
      state: 'ready',
      material: Buffer.alloc(BLOCK_BITS / 8, 7),
      bits: BLOCK_BITS,
      metadata: Buffer.from('held'),
      expiresAt: new Date(Date.now() + 600_000),
    });
    expect(held).toBe(true);
    const { sealed } = await sealedBlock(600_000, (m) => ({ ...m, blockId: heldId }));
    await network.publishAndSettle(METADATA_TO_WEST, sealed, `again-${heldId}`, 'kme-west');
    expect(westReplication.text).toContain(
      `block ${heldId} from kme-east rejected (metadata-refused): a block with its ID is held here already`,
    );
    const material = await west.blocks.readBits([{ blockId: heldId, start: 0, end: BLOCK_BITS }]);
    expect(material?.equals(Buffer.alloc(BLOCK_BITS / 8, 7))).toBe(true);
  });

  it('refuses an assignment whose deadline lies beyond the longest TTL, and records none of its keys', async () => {
    const { sealed, reservationId, keyId } = await sealedAssignment(30 * 24 * 3_600_000);
    await network.publishAndSettle(ASSIGNMENT_TO_WEST, sealed, `assignment:${reservationId}`, 'kme-west');
    expect(await west.keys.find([keyId])).toEqual([]);
    expect(westReplication.text).toContain(`assignment ${reservationId} from kme-east: its deadline`);
    expect(westReplication.text).toContain('lies beyond the longest TTL');
  });

  it('applies an assignment behind many blocks waiting for entropy servers out of reach', async () => {
    // More metadata than a small limit of unacknowledged messages, each tried again while no server answers.
    // Their samples' deadline lies well beyond the test, so none is rejected as late meanwhile.
    const waiting = await Promise.all(Array.from({ length: 40 }, () => sealedBlock(120_000)));
    await withoutEntropyServers(() => publishAndApply(waiting));
  }, 90_000);

  it('applies an assignment behind blocks whose entropy servers accept connections and never answer', async () => {
    const waiting = await Promise.all(Array.from({ length: 20 }, () => sealedBlock(120_000)));
    await withoutEntropyServers(async () => {
      // Each read now waits for the client's timeout (10 s) instead of failing at once.
      const silent = await Promise.all(
        network.entropy.network.entropyServers.map(async ({ url }) => {
          const sockets = new Set<Socket>();
          const server = createServer((socket) => sockets.add(socket));
          await new Promise<void>((resolve) =>
            server.listen(Number(new URL(url).port), '127.0.0.1', resolve),
          );
          return { server, sockets };
        }),
      );
      try {
        await publishAndApply(waiting);
      } finally {
        for (const { server, sockets } of silent) {
          sockets.forEach((socket) => socket.destroy());
          await new Promise((resolve) => server.close(resolve));
        }
      }
    });
  }, 90_000);
});
