import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import tls from 'node:tls';

import { EtsiClient } from '@dqkd/client';

/** The ledger tables an ETSI request could touch (before a network leaves some out, see its counts()). */
export const REQUEST_TABLES = [
  'keys',
  'key_slaves',
  'reservations',
  'bit_ranges',
  'outbox_messages',
  'processed_messages',
  // Changes that keep the counts: a delivery marks entries and may drop material, and is audited.
  'key_slaves WHERE delivered_at IS NOT NULL',
  'keys WHERE material_kek_id IS NOT NULL',
  "audit_events WHERE event IN ('key-issued', 'key-delivered')",
] as const;

/** Slave entries held by deliveries whose outcome is not recorded yet. */
const CLAIMED = 'key_slaves WHERE claimed_until IS NOT NULL';

/** An ETSI client of `saeId`, its certificate and key from `pkiDir`, trusting the CA in `caDir`. */
export function pkiClient(baseUrl: string, saeId: string, pkiDir: string, caDir: string): EtsiClient {
  return new EtsiClient({
    baseUrl,
    cert: readFileSync(path.join(pkiDir, `${saeId}.pem`)),
    key: readFileSync(path.join(pkiDir, `${saeId}.key`)),
    ca: readFileSync(path.join(caDir, 'ca.pem')),
  });
}

/**
 * A mutual-TLS connection to `baseUrl` as `saeId` (certificate from `pkiDir`, which holds the CA too), for
 * requests no HTTP client would make; `connected` runs once the handshake is done.
 */
export function connectAs(
  baseUrl: string,
  saeId: string,
  pkiDir: string,
  connected: (socket: tls.TLSSocket) => void,
): tls.TLSSocket {
  const url = new URL(baseUrl);
  const socket: tls.TLSSocket = tls.connect(
    {
      host: url.hostname,
      port: Number(url.port),
      cert: readFileSync(path.join(pkiDir, `${saeId}.pem`)),
      key: readFileSync(path.join(pkiDir, `${saeId}.key`)),
      ca: readFileSync(path.join(pkiDir, 'ca.pem')),
    },
    () => connected(socket),
  );
  return socket;
}

/** Rows of `table` at the site `kmeId`. */
export type RowCounter = (kmeId: string, table: string) => Promise<number>;

/** Waits (bounded) until kme-west holds every key kme-east issued: each is announced in an assignment. */
export async function westSettled(count: RowCounter, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await count('kme-west', 'keys')) >= (await count('kme-east', 'keys'))) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`west did not apply every assignment within ${timeoutMs} ms`);
}

/**
 * Row counts of `tables` at both sites, keyed `<kme>.<table>`, once west has settled and holds no claim: a
 * delivery records that its answer went out just after the answer, and a claim left behind is a failure.
 */
export async function settledCounts(
  count: RowCounter,
  tables: readonly string[] = REQUEST_TABLES,
): Promise<Record<string, number>> {
  await westSettled(count);
  const deadline = Date.now() + 10_000;
  while ((await count('kme-west', CLAIMED)) > 0) {
    if (Date.now() > deadline) throw new Error('west still holds claimed slave entries after 10 s');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const counts: Record<string, number> = {};
  for (const kmeId of ['kme-east', 'kme-west']) {
    for (const table of tables) counts[`${kmeId}.${table}`] = await count(kmeId, table);
  }
  return counts;
}
