import { parseArgs } from 'node:util';

import { setVariables } from '@dqkd/config';
import { MAX_TTL_SECONDS } from '@dqkd/etsi014';

/** What the user asked the `dqkd` command to do, with every option checked. */
export type CliCommand =
  | { readonly kind: 'help' }
  | {
      readonly kind: 'status';
      readonly slave: string;
      readonly connection: Connection;
      readonly json: boolean;
    }
  | {
      readonly kind: 'enc';
      readonly slave: string;
      readonly number?: number;
      readonly size?: number;
      readonly ttlSeconds?: number;
      readonly additionalSlaves: readonly string[];
      readonly connection: Connection;
      readonly json: boolean;
    }
  | {
      readonly kind: 'dec';
      readonly master: string;
      readonly keyIds: readonly string[];
      readonly connection: Connection;
      readonly json: boolean;
    }
  | {
      readonly kind: 'demo';
      readonly master: string;
      readonly slave: string;
      readonly json: boolean;
      readonly home: string;
      readonly networkFile?: string;
    };

/**
 * Who calls which KME: the SAE's files from the development PKI unless given one by one. Without `sae`, the
 * certificate files and the KME URL are given.
 */
export interface Connection {
  readonly sae?: string;
  readonly kmeUrl?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly p12?: string;
  /** The file holding the --p12 file's password; without it, the empty password. */
  readonly p12PasswordFile?: string;
  readonly ca?: string;
  readonly home: string;
  /** Where the SAE's KME is looked up: DQKD_NETWORK_FILE, else network.yaml under the home. */
  readonly networkFile?: string;
}

export class CliUsageError extends Error {}

export const USAGE = `usage: dqkd <command> [options]

commands:
  status <slave_SAE_ID>                 status of the link to a slave (as the master)
  enc <slave_SAE_ID>                    get keys for a slave (as the master)
  dec <master_SAE_ID> <key_ID>...       get keys by ID (as a slave)
  demo                                  Alice gets a key for Bob, Bob fetches it; both halves side by side

options:
  --sae <id>          the calling SAE; its certificate comes from $DQKD_HOME/pki/<id>.pem/.key
  --kme <url>         the KME's ETSI API (default: the SAE's KME in $DQKD_NETWORK_FILE, else in
                      $DQKD_HOME/network.yaml)
  --cert <file> --key <file> | --p12 <file>   the SAE's client certificate instead (with --kme,
                      no --sae is needed)
  --p12-password-file <file>   the --p12 file's password, read from that file, never from the command
                      line (one trailing newline dropped; default: the empty password)
  --ca <file>         CA of the KME's certificate (default $DQKD_HOME/pki/ca.pem)
  --number <n> --size <bits> --ttl <seconds> --additional-slave <id>   enc options
                      (--ttl: how long the slave may fetch the keys, 1 to ${MAX_TTL_SECONDS} s; a KME
                      whose link allows less refuses the request rather than shorten it)
  --master <id> --slave <id>   demo SAEs (default sae-alice and sae-bob)
  --json              print the ETSI JSON instead of a table
  --home <dir>        DQKD_HOME (default $DQKD_HOME or .dqkd, in the directory where npm start runs)`;

function positiveInteger(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  // Safe integers only: twenty digits would go out as 1e20, which no KME reads as an integer.
  if (!/^\d+$/.test(value) || Number(value) < 1 || !Number.isSafeInteger(Number(value)))
    throw new CliUsageError(`--${name} must be a positive integer`);
  return Number(value);
}

/** The KME would clamp a longer one: said here rather than seen only in the answer's deadline. */
function ttl(value: string | undefined): number | undefined {
  const seconds = positiveInteger('ttl', value);
  if (seconds !== undefined && seconds > MAX_TTL_SECONDS) {
    throw new CliUsageError(`--ttl must be at most ${MAX_TTL_SECONDS} seconds (one hour, the longest TTL)`);
  }
  return seconds;
}

export function parseCommand(argv: readonly string[], env: NodeJS.ProcessEnv): CliCommand {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        sae: { type: 'string' },
        kme: { type: 'string' },
        cert: { type: 'string' },
        key: { type: 'string' },
        p12: { type: 'string' },
        // A --p12 file's password comes from a file only: argv is visible to every local user (ps) and kept in
        // the shell's history, and an environment variable is inherited by every child and often printed.
        'p12-password-file': { type: 'string' },
        ca: { type: 'string' },
        number: { type: 'string' },
        size: { type: 'string' },
        ttl: { type: 'string' },
        'additional-slave': { type: 'string', multiple: true },
        master: { type: 'string' },
        slave: { type: 'string' },
        json: { type: 'boolean', default: false },
        home: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    // Node's own wording suggests '--' for positionals, which no dqkd argument needs, and calls an option
    // followed by another "ambiguous".
    const { message } = error as Error;
    const unknown = /^Unknown option '([^']+)'/.exec(message);
    const valueless = /^Option '(--[\w-]+)[^']*' argument (?:is ambiguous|missing)/.exec(message);
    throw new CliUsageError(
      unknown ? `unknown option ${unknown[1]}` : valueless ? `${valueless[1]} needs a value` : message,
    );
  }
  const { values, positionals } = parsed;
  // `--home ""` (an unset shell variable, say) would quietly mean the current directory, `--sae ""` no SAE.
  const empty = Object.entries(values).find(
    ([, value]) => value === '' || (Array.isArray(value) && value.includes('')),
  );
  if (empty !== undefined) throw new CliUsageError(`--${empty[0]} needs a value, not an empty one`);
  const [command, ...rest] = positionals;
  if (values.help || command === undefined || command === 'help') return { kind: 'help' };
  // An empty DQKD_HOME is unset, as for the apps and npm start, not the working directory.
  const home = values.home ?? setVariables(env)['DQKD_HOME'] ?? '.dqkd';
  // A home given on the command line brings its own network.yaml, whatever the environment says.
  const networkFile = values.home === undefined ? env['DQKD_NETWORK_FILE'] || undefined : undefined;
  const json = values.json;
  refuseOptionsNotTaken(command, values);
  if (command === 'demo') {
    if (rest.length > 0) throw new CliUsageError('demo takes no arguments');
    return {
      kind: 'demo',
      master: values.master ?? 'sae-alice',
      slave: values.slave ?? 'sae-bob',
      json,
      home,
      networkFile,
    };
  }
  if (values.cert !== undefined && values.key === undefined) throw new CliUsageError('--cert needs --key');
  // Else paired with the SAE's default certificate, or dropped beside --p12.
  if (values.key !== undefined && values.cert === undefined) throw new CliUsageError('--key needs --cert');
  if (values.p12 !== undefined && values.cert !== undefined)
    throw new CliUsageError('--p12 or --cert and --key, not both');
  if (values['p12-password-file'] !== undefined && values.p12 === undefined) {
    throw new CliUsageError('--p12-password-file needs --p12: it is the password of that PKCS#12 file');
  }
  // Asked for by each command once it is known, so an unknown one is told as such first.
  const connection = (): Connection => {
    const identified = values.p12 !== undefined || values.cert !== undefined;
    if (values.sae === undefined && !(identified && values.kme !== undefined)) {
      throw new CliUsageError(
        `${command} needs --sae <id>: the calling SAE (or its certificate and the KME's URL: --cert and --key, ` +
          'or --p12, with --kme)',
      );
    }
    return {
      sae: values.sae,
      kmeUrl: values.kme,
      cert: values.cert,
      key: values.key,
      p12: values.p12,
      p12PasswordFile: values['p12-password-file'],
      ca: values.ca,
      home,
      networkFile,
    };
  };
  switch (command) {
    case 'status':
      if (rest.length !== 1) throw new CliUsageError('status needs exactly one slave_SAE_ID');
      return { kind: 'status', slave: rest[0]!, connection: connection(), json };
    case 'enc':
      if (rest.length !== 1) throw new CliUsageError('enc needs exactly one slave_SAE_ID');
      return {
        kind: 'enc',
        slave: rest[0]!,
        number: positiveInteger('number', values.number),
        size: positiveInteger('size', values.size),
        ttlSeconds: ttl(values.ttl),
        additionalSlaves: values['additional-slave'] ?? [],
        connection: connection(),
        json,
      };
    case 'dec':
      if (rest.length < 2) throw new CliUsageError('dec needs a master_SAE_ID and at least one key_ID');
      return { kind: 'dec', master: rest[0]!, keyIds: rest.slice(1), connection: connection(), json };
    default:
      throw new CliUsageError(`unknown command "${command}"`);
  }
}

const CONNECTION_OPTIONS = ['sae', 'kme', 'cert', 'key', 'p12', 'p12-password-file', 'ca', 'json', 'home'];
/** The options each command reads: any other given to it would be silently ignored, so it is refused. */
const OPTIONS_TAKEN: Readonly<Record<string, readonly string[]>> = {
  demo: ['master', 'slave', 'json', 'home'],
  status: CONNECTION_OPTIONS,
  enc: [...CONNECTION_OPTIONS, 'number', 'size', 'ttl', 'additional-slave'],
  dec: CONNECTION_OPTIONS,
};

/** Refuses an option the command does not read; an unknown command is left to say so itself. */
function refuseOptionsNotTaken(command: string, values: Readonly<Record<string, unknown>>): void {
  const taken = OPTIONS_TAKEN[command];
  if (taken === undefined) return;
  const given = Object.entries(values)
    .filter(([name, value]) => value !== undefined && value !== false && name !== 'help')
    .map(([name]) => name);
  const ignored = given.find((name) => !taken.includes(name));
  if (ignored !== undefined) throw new CliUsageError(`${command} takes no --${ignored}`);
}
