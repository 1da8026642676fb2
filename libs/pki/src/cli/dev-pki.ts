import path from 'node:path';
import { parseArgs } from 'node:util';

import { ensureDevPki, type DevPkiOptions } from '../dev-pki';
import { PkiError } from '../errors';
import { entropyServerIds } from '../names';
import { defaultPkiDir } from '../paths';

const USAGE = `Usage: dev-pki [--dir <folder>] [--kme <ids>] [--sae <ids>] [--entropy <count|ids>]

Creates the development PKI: CA, KME, entropy-server and SAE certificates, and the sealing identities of
KMEs and entropy servers. Existing files are kept and missing ones added, except that an SAE whose <sae>.pem
is missing gets a new certificate and a new <sae>.p12.

  --dir      target folder (default: $DQKD_HOME/pki, DQKD_HOME defaulting to .dqkd)
  --kme      KME IDs, comma-separated or repeated (default: kme-east,kme-west)
  --sae      SAE IDs (default: sae-alice,sae-bob,sae-carol)
  --entropy  entropy server IDs, or a count n for entropy-1..entropy-n (default: 3)
`;

export interface CliOutput {
  readonly log: (line: string) => void;
  readonly error: (line: string) => void;
}

/** Runs the command and returns its exit code; `cwd` anchors a relative `--dir` and the default folder. */
export async function main(
  argv: readonly string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
  out: CliOutput,
): Promise<number> {
  let options: DevPkiOptions;
  try {
    const parsed = parseOptions(argv, cwd, env);
    if (parsed === 'help') {
      out.log(USAGE);
      return 0;
    }
    options = parsed;
  } catch (error) {
    out.error(`dev-pki: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  try {
    const report = await ensureDevPki(options);
    out.log(`Development PKI in ${report.dir}`);
    for (const name of report.created) {
      out.log(`  created  ${name}`);
    }
    for (const name of report.kept) {
      out.log(`  kept     ${name}`);
    }
    return 0;
  } catch (error) {
    if (error instanceof PkiError) {
      out.error(`dev-pki: ${error.message}`);
      return 1;
    }
    throw error;
  }
}

function parseOptions(argv: readonly string[], cwd: string, env: NodeJS.ProcessEnv): DevPkiOptions | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      dir: { type: 'string' },
      kme: { type: 'string', multiple: true },
      sae: { type: 'string', multiple: true },
      entropy: { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    return 'help';
  }
  return {
    dir: values.dir === undefined ? defaultPkiDir(env, cwd) : path.resolve(cwd, values.dir),
    kmes: list(values.kme),
    saes: list(values.sae),
    entropyServers: entropyList(values.entropy),
  };
}

function list(values: readonly string[] | undefined): string[] | undefined {
  return values?.flatMap((value) => value.split(',')).map((id) => id.trim());
}

function entropyList(values: readonly string[] | undefined): string[] | undefined {
  const ids = list(values);
  if (ids?.length === 1 && /^\d+$/.test(ids[0])) {
    const count = Number(ids[0]);
    if (count < 1 || count > 64) {
      throw new Error('--entropy count must be between 1 and 64');
    }
    return entropyServerIds(count);
  }
  return ids;
}

if (require.main === module) {
  // npm runs scripts inside libs/pki; INIT_CWD is where the person typed the command.
  const cwd = process.env.INIT_CWD || process.cwd();
  main(process.argv.slice(2), cwd, process.env, { log: console.log, error: console.error }).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
