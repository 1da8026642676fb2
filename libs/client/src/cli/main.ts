import { EtsiClient } from '../etsi-client';
import { EtsiClientError, EtsiHttpError } from '../errors';
import { CliUsageError, parseCommand, USAGE, type CliCommand, type Connection } from './args';
import { clientOptions } from './connection';
import { explain } from './explain';
import { demoTable, halvesAgree, keysTable, statusTable } from './format';

const EX_USAGE = 64;

/** What a command prints on stdout, and its exit code. */
interface Outcome {
  readonly text: string;
  readonly code: number;
}

const done = (text: string): Outcome => ({ text, code: 0 });

function clientFor(connection: Connection): EtsiClient {
  return new EtsiClient(clientOptions(connection));
}

async function run(command: Exclude<CliCommand, { kind: 'help' }>): Promise<Outcome> {
  switch (command.kind) {
    case 'status': {
      const client = clientFor(command.connection);
      try {
        const status = await client.status(command.slave);
        return done(command.json ? JSON.stringify(status, null, 2) : statusTable(status));
      } finally {
        client.close();
      }
    }
    case 'enc': {
      const client = clientFor(command.connection);
      try {
        const container = await client.encKeys(command.slave, {
          number: command.number,
          size: command.size,
          additional_slave_SAE_IDs: command.additionalSlaves.length
            ? [...command.additionalSlaves]
            : undefined,
          // Mandatory: a TTL the user gave is met or refused (400 naming it), never cut short to the link's
          // longest without a word.
          extension_mandatory: command.ttlSeconds ? [{ dqkd_ttl: command.ttlSeconds }] : undefined,
        });
        return done(command.json ? JSON.stringify(container, null, 2) : keysTable(container));
      } finally {
        client.close();
      }
    }
    case 'dec': {
      const client = clientFor(command.connection);
      try {
        const container = await client.decKeys(command.master, [...command.keyIds]);
        return done(command.json ? JSON.stringify(container, null, 2) : keysTable(container));
      } finally {
        client.close();
      }
    }
    case 'demo':
      return demo(command);
  }
}

/**
 * The seed story: Alice gets a key for Bob and hands him only its key_ID; Bob fetches the same key. Halves
 * that differ exit 1, so that a script running the demo as a smoke test sees it fail.
 */
async function demo(command: Extract<CliCommand, { kind: 'demo' }>): Promise<Outcome> {
  const { home, networkFile } = command;
  const alice = clientFor({ sae: command.master, home, networkFile });
  const bob = clientFor({ sae: command.slave, home, networkFile });
  try {
    const sent = await alice.encKeys(command.slave, { number: 1 });
    const fetched = await bob.decKeys(
      command.master,
      sent.keys.map((key) => key.key_ID),
    );
    const code = halvesAgree(sent, fetched) ? 0 : 1;
    if (command.json) {
      return { text: JSON.stringify({ [command.master]: sent, [command.slave]: fetched }, null, 2), code };
    }
    const text = [
      `${command.master} asked its KME for a key for ${command.slave}, and passed on only its key_ID;`,
      `${command.slave} fetched the key by that ID from its own KME:`,
      '',
      demoTable(sent, fetched),
    ].join('\n');
    return { text, code };
  } finally {
    alice.close();
    bob.close();
  }
}

async function main(): Promise<number> {
  let command: CliCommand;
  try {
    command = parseCommand(process.argv.slice(2), process.env);
  } catch (error) {
    if (!(error instanceof CliUsageError)) throw error;
    process.stderr.write(`dqkd: ${error.message}\n\n${USAGE}\n`);
    return EX_USAGE;
  }
  if (command.kind === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  try {
    const { text, code } = await run(command);
    process.stdout.write(`${text}\n`);
    if (code !== 0) process.stderr.write('dqkd: the two halves differ\n');
    return code;
  } catch (error) {
    if (error instanceof CliUsageError) {
      process.stderr.write(`dqkd: ${error.message}\n`);
      return EX_USAGE;
    }
    if (error instanceof EtsiHttpError) {
      // details name, for instance, the extensions the KME could not meet.
      const details = error.body.details === undefined ? '' : ` ${JSON.stringify(error.body.details)}`;
      process.stderr.write(`dqkd: the KME answered ${error.status}: ${error.body.message}${details}\n`);
    } else if (error instanceof EtsiClientError) {
      process.stderr.write(`dqkd: ${explain(error)}\n`);
    } else if (error instanceof Error) {
      process.stderr.write(`dqkd: ${error.message}\n`);
    }
    return 1;
  }
}

void main().then((code) => (process.exitCode = code));
