import { MAX_TTL_SECONDS } from '@dqkd/etsi014';
import type { Ledger, SentRecord } from '@dqkd/ledger';
import { parseProtocolSubject } from '@dqkd/messaging';

/**
 * How far back a start looks for messages lost with the in-process bus: a key's assignment matters until the
 * longest TTL has passed, and a block's metadata until its source stops waiting for the confirmation, which
 * is never longer (DQKD_BLOCK_ACK_TIMEOUT_MS is at most an hour too).
 */
export const RESEND_WINDOW_MS = MAX_TTL_SECONDS * 1000;

/** Sent messages looked at, and looked up in a receiver's inbox, per statement. */
const PAGE = 10_000;

/**
 * Has the relays publish again what each site sent from `since` until `before` (this run's start) and its
 * receiver never processed. The in-process bus kept nothing of an earlier run: a block's metadata it still
 * held would leave that block unconfirmed, and an assignment it still held would leave keys a master already
 * has undecodable by their slaves. Every site's ledger is at hand in this one process, so only what is
 * missing goes again (a receiver that is not one of `sites` gets everything). A message its receiver refused
 * is not in its inbox either, and goes again to be refused again. Answers how many messages go again.
 */
export async function resendLost(
  sites: ReadonlyMap<string, Ledger>,
  since: Date,
  before: Date,
): Promise<number> {
  let resent = 0;
  for (const sender of sites.values()) {
    let page: SentRecord[];
    let after = '0';
    do {
      page = await sender.outbox.sentBetween(since, before, after, PAGE);
      resent += await resendPage(sender, page, sites);
      after = page.at(-1)?.id ?? after;
    } while (page.length === PAGE);
  }
  return resent;
}

async function resendPage(
  sender: Ledger,
  page: readonly SentRecord[],
  sites: ReadonlyMap<string, Ledger>,
): Promise<number> {
  // The inbox knows a message by its subject, which also names its receiver.
  const bySubject = new Map<string, SentRecord[]>();
  for (const sent of page) {
    const group = bySubject.get(sent.subject) ?? [];
    group.push(sent);
    bySubject.set(sent.subject, group);
  }
  let resent = 0;
  for (const [subject, sent] of bySubject) {
    const receiver = sites.get(parseProtocolSubject(subject)?.target ?? '');
    const processed =
      (await receiver?.inbox.processedAmong(
        subject,
        sent.map(({ msgId }) => msgId),
      )) ?? new Set();
    resent += await sender.outbox.republish(
      sent.filter(({ msgId }) => !processed.has(msgId)).map(({ id }) => id),
    );
  }
  return resent;
}
