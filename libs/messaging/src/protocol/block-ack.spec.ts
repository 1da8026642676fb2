import { randomUUID } from 'node:crypto';

import { EnvelopeMalformed, EnvelopeMisaddressed, EnvelopeTampered, open, seal } from '@dqkd/blast';
import { ed25519 } from '@noble/curves/ed25519.js';
import { ml_kem768_x25519 } from '@noble/post-quantum/hybrid.js';

import {
  blockAckMessage,
  decodeBlockAck,
  encodeBlockAck,
  openBlockAck,
  sealBlockAck,
  type BlockAck,
} from './block-ack';

function kme() {
  const kem = ml_kem768_x25519.keygen();
  const signingKey = ed25519.utils.randomSecretKey();
  return { kem, signingKey, signingPublicKey: ed25519.getPublicKey(signingKey) };
}

const east = kme();
const west = kme();
const NOW = Date.UTC(2026, 0, 1);
const route = { from: 'kme-west', to: 'kme-east', expiresAt: NOW + 60_000 };
const atEast = (self = 'kme-east') => ({
  self,
  recipientKemSecret: east.kem.secretKey,
  senderSigPublicKeys: new Map([['kme-west', west.signingPublicKey]]),
  now: NOW,
});
const sealWestToEast = (ack: BlockAck) => sealBlockAck(ack, route, west.signingKey, east.kem.publicKey);

describe('block acknowledgement', () => {
  it('opens at the source as the target sealed it, naming the signer', () => {
    const ack: BlockAck = { blockId: randomUUID(), outcome: 'rejected', reason: 'kcv-mismatch' };
    expect(openBlockAck(sealWestToEast(ack), atEast())).toMatchObject({ from: 'kme-west', ack });
  });

  it('refuses an acknowledgement addressed to another KME', () => {
    const sealed = sealWestToEast({ blockId: randomUUID(), outcome: 'ready' });
    expect(() => openBlockAck(sealed, atEast('kme-north'))).toThrow(EnvelopeMisaddressed);
  });

  it('refuses an envelope of another kind', () => {
    const blockId = randomUUID();
    const header = {
      kind: 'metadata' as const,
      subjectId: blockId,
      source: 'kme-west',
      target: 'kme-east',
      expiresAt: NOW + 1,
    };
    const sealed = seal(
      header,
      encodeBlockAck({ blockId, outcome: 'ready' }),
      west.signingKey,
      east.kem.publicKey,
    );
    expect(() => openBlockAck(sealed, atEast())).toThrow(EnvelopeMalformed);
  });

  it('refuses an acknowledgement of one block sealed under the ID of another', () => {
    const header = {
      kind: 'ack' as const,
      subjectId: randomUUID(),
      source: 'kme-west',
      target: 'kme-east',
      expiresAt: NOW + 1,
    };
    const plaintext = encodeBlockAck({ blockId: randomUUID(), outcome: 'ready' });
    const sealed = seal(header, plaintext, west.signingKey, east.kem.publicKey);
    expect(open(sealed, atEast()).header.kind).toBe('ack');
    expect(() => openBlockAck(sealed, atEast())).toThrow(EnvelopeTampered);
  });

  it.each([
    ['not JSON', '{'],
    ['another version', JSON.stringify({ v: 2, b: 'x', o: 'ready' })],
    ['no block', JSON.stringify({ v: 1, o: 'ready' })],
    ['an unknown outcome', JSON.stringify({ v: 1, b: 'x', o: 'maybe' })],
    ['a rejection without a known reason', JSON.stringify({ v: 1, b: 'x', o: 'rejected', r: 'bored' })],
    ['a reason on a ready block', JSON.stringify({ v: 1, b: 'x', o: 'ready', r: 'kcv-mismatch' })],
  ])('refuses to decode %s', (_case, text) => {
    expect(() => decodeBlockAck(new TextEncoder().encode(text))).toThrow(EnvelopeMalformed);
  });

  it('travels from the target back to the source under its own message ID', () => {
    const blockId = randomUUID();
    expect(blockAckMessage(route, blockId, Uint8Array.of(1), { prefix: 't1' })).toMatchObject({
      subject: 't1.kme-west.out.kme-east.block-ack',
      msgId: `block-ack:${blockId}`,
    });
  });
});
