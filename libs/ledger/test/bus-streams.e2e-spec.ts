import { randomUUID } from 'node:crypto';

import { DATABASE_MODES } from './support/test-database';
import { useTestLedger } from './support/test-ledger';

/** The record of the streams the peers copy, which decides whether a starting process makes one (BusStreams). */
describe.each(DATABASE_MODES)('the bus stream record on %s', (mode) => {
  const context = useTestLedger(mode);
  const streamName = () => `DQKD_KME_${randomUUID().slice(0, 8).toUpperCase()}_OUT`;

  it('keeps the first time a stream was recorded until it is forgotten, then nothing', async () => {
    const { busStreams } = context().ledger;
    const stream = streamName();
    expect(await busStreams.recordedAt(stream)).toBeUndefined();

    await busStreams.record(stream);
    const first = await busStreams.recordedAt(stream);
    expect(first).toBeInstanceOf(Date);
    await busStreams.record(stream);
    expect(await busStreams.recordedAt(stream)).toEqual(first);

    expect(await busStreams.forget(stream)).toEqual(first);
    expect(await busStreams.recordedAt(stream)).toBeUndefined();
    expect(await busStreams.forget(stream)).toBeUndefined();
  });

  it('records a stream once when processes of a new site record it at the same moment', async () => {
    // Each on a pool of its own, as the processes of a site starting together are.
    const processes = await Promise.all(Array.from({ length: 4 }, () => context().connect()));
    const stream = streamName();

    const outcomes = await Promise.allSettled(
      processes.flatMap((ledger) => [ledger.busStreams.record(stream), ledger.busStreams.record(stream)]),
    );

    expect(outcomes.filter((outcome) => outcome.status === 'rejected')).toEqual([]);
    const rows = (await context().ledger.dataSource.query(
      `SELECT count(*)::int AS n FROM bus_streams WHERE name = $1`,
      [stream],
    )) as { n: number }[];
    expect(rows).toEqual([{ n: 1 }]);
    const seen = await Promise.all(processes.map((ledger) => ledger.busStreams.recordedAt(stream)));
    expect(new Set(seen.map((at) => at?.toISOString())).size).toBe(1);
  });
});
