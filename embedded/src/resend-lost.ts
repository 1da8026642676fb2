import { MAX_TTL_SECONDS } from '@dqkd/etsi014';
import type { Ledger, SentRecord } from '@dqkd/ledger';
import { parseProtocolSubject } from '@dqkd/messaging';

/** Messages looked up in a receiver's inbox per statement. */
const CHUNK = 10_000;

/**
 * How far back a start looks for messages lost with the in-process bus: a key's assignment matters until
 * the longest TTL has passed, a block's metadata until its source stops waiting for the confirmation.
 */
export function resendWindowMs(ackTimeoutMs: number): number {
  return Math.max(ackTimeoutMs, MAX_TTL_SECONDS * 1000);
}

/**
 * Has the relays publish again what each site sent since `since` and its receiver never processed. The
 * in-process bus kept nothing of an earlier run: a block's metadata it still held would leave that block
 * unconfirmed, and an assignment it still held would leave keys a master already has undecodable by their
 * slaves. Every site's ledger is at hand in this one process, so only what is missing goes again (a receiver
 * that is not one of `sites` gets everything). Answers how many messages go again.
 */
export async function resendLost(sites: ReadonlyMap<string, Ledger>, since: Date): Promise<number> {
  let resent = 0;
  for (const sender of sites.values()) {
    const byReceiver = new Map<string, SentRecord[]>();
    for (const sent of await sender.outbox.sentSince(since)) {
      const receiver = parseProtocolSubject(sent.subject)?.target ?? '';
      const group = byReceiver.get(receiver) ?? [];
      group.push(sent);
      byReceiver.set(receiver, group);
    }
    for (const [receiver, sent] of byReceiver) {
      for (let start = 0; start < sent.length; start += CHUNK) {
        const chunk = sent.slice(start, start + CHUNK);
        const processed =
          (await sites.get(receiver)?.inbox.processedAmong(chunk.map(({ msgId }) => msgId))) ?? new Set();
        resent += await sender.outbox.republish(
          chunk.filter(({ msgId }) => !processed.has(msgId)).map(({ id }) => id),
        );
      }
    }
  }
  return resent;
}
