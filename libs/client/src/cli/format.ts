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

/** Whether the slave got every key the master got, each with the same material. */
export function halvesAgree(master: KeyContainer, slave: KeyContainer): boolean {
  const fetched = new Map(slave.keys.map((key) => [key.key_ID, key.key]));
  return master.keys.length > 0 && master.keys.every((key) => fetched.get(key.key_ID) === key.key);
}

/** The two halves of the demo: what the master got and what the slave fetched, key by key. */
export function demoTable(master: KeyContainer, slave: KeyContainer): string {
  const fetched = new Map(slave.keys.map((key) => [key.key_ID, key.key]));
  return table([
    ['key_ID', 'master got (base64)', 'slave got (base64)', 'same'],
    ...master.keys.map((key) => {
      const other = fetched.get(key.key_ID) ?? '';
      return [key.key_ID, key.key, other, other === key.key ? 'yes' : 'NO'];
    }),
  ]);
}
