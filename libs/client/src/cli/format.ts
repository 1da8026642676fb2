import type { KeyContainer, Status } from '@dqkd/etsi014';

/** Left-aligned columns, two spaces apart; the first row is the heading. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows
    .map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function statusTable(status: Status): string {
  return table([
    ['field', 'value'],
    // Strings as they are; numbers, lists and extensions as JSON.
    ...Object.entries(status).map(([name, value]) => [
      name,
      typeof value === 'string' ? value : JSON.stringify(value),
    ]),
  ]);
}

export function keysTable(container: KeyContainer): string {
  return table([
    ['key_ID', 'bits', 'expires', 'key (base64)'],
    ...container.keys.map((key) => [
      key.key_ID,
      String(Buffer.from(key.key, 'base64').length * 8),
      String((key.key_extension as { dqkd_expires_at?: string } | undefined)?.dqkd_expires_at ?? ''),
      key.key,
    ]),
  ]);
}

/** Each key the master got, beside what the slave fetched under its key_ID ('' for nothing). */
function pairs(master: KeyContainer, slave: KeyContainer): { id: string; sent: string; fetched: string }[] {
  const fetched = new Map(slave.keys.map((key) => [key.key_ID, key.key]));
  return master.keys.map((key) => ({
    id: key.key_ID,
    sent: key.key,
    fetched: fetched.get(key.key_ID) ?? '',
  }));
}

/** Whether the slave got every key the master got, each with the same material. */
export function halvesAgree(master: KeyContainer, slave: KeyContainer): boolean {
  const both = pairs(master, slave);
  return both.length > 0 && both.every(({ sent, fetched }) => fetched === sent);
}

/** The two halves of the demo: what the master got and what the slave fetched, key by key. */
export function demoTable(master: KeyContainer, slave: KeyContainer): string {
  return table([
    ['key_ID', 'master got (base64)', 'slave got (base64)', 'same'],
    ...pairs(master, slave).map(({ id, sent, fetched }) => [
      id,
      sent,
      fetched,
      fetched === sent ? 'yes' : 'NO',
    ]),
  ]);
}
