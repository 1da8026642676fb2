import { createLedgerDataSource } from '../data-source';
import { BusStreams } from '../store/bus-streams';
import { runCli } from './run-cli';

/** Apart from 1, which runCli answers for any failure. */
const NOT_RECORDED = 3;

/**
 * `npm run forget-stream -- <stream>`: forgets the record of the OUT stream `<stream>` in the ledger at
 * DATABASE_URL, so that the next process of the site to start makes it again: step 2 of recovering a lost OUT
 * stream (docs/operations.md, "A stream deleted while running"). Exits 3 when the stream was not recorded, 1
 * when the ledger could not be reached or read.
 */
async function main(): Promise<number> {
  const url = process.env.DATABASE_URL;
  if (url === undefined || url === '') {
    process.stderr.write("DATABASE_URL: set it to the postgres://… URL of the site's ledger\n");
    return 2;
  }
  const args = process.argv.slice(2);
  if (args.length !== 1 || !/^[A-Za-z0-9_-]+$/.test(args[0]!)) {
    process.stderr.write('usage: forget-stream <stream>, e.g. forget-stream DQKD_KME_EAST_OUT\n');
    return 2;
  }
  const stream = args[0]!;
  const dataSource = createLedgerDataSource(url, {
    poolSize: 1,
    applicationName: 'dqkd-ledger-forget-stream',
  });
  await dataSource.initialize();
  try {
    const recordedAt = await new BusStreams(dataSource.manager).forget(stream);
    if (recordedAt === undefined) {
      process.stderr.write(`${stream} is not recorded at this site: nothing to forget\n`);
      return NOT_RECORDED;
    }
    process.stdout.write(
      `forgot ${stream} (recorded ${recordedAt.toISOString()}): the next process of this site to start makes it again\n`,
    );
    return 0;
  } finally {
    await dataSource.destroy();
  }
}

runCli('forget-stream', main);
