import { randomUUID } from 'node:crypto';

import { DATABASE_MODES } from './support/test-database';
import { useTestLedger } from './support/test-ledger';

describe.each(DATABASE_MODES)('ledger statements on %s', (mode) => {
  const context = useTestLedger(mode);

  it('sends its plain SQL as named statements, prepared once per connection', async () => {
    const { ledger } = context();
    const prepared = await ledger.transaction(async (scope) => {
      // Twice on the transaction's one connection: the second call finds the statement prepared.
      await scope.reservations.find(randomUUID());
      await scope.reservations.find(randomUUID());
      return (await scope.manager.query(
        `SELECT name, statement FROM pg_prepared_statements WHERE name LIKE 'dqkd\\_%'`,
      )) as { name: string; statement: string }[];
    });
    const reservationLookups = prepared.filter(({ statement }) =>
      statement.includes('FROM reservations r JOIN bit_ranges g'),
    );
    expect(reservationLookups).toHaveLength(1);
    expect(reservationLookups[0]!.name).toMatch(/^dqkd_[0-9a-f]{32}$/);
  });
});
