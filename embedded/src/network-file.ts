import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

/** The example network of the repository, shipped beside the built launcher's sources. */
const EXAMPLE = path.resolve(__dirname, '../../config/network.example.yaml');

/**
 * `$DQKD_HOME/network.yaml`: written once from the example network (its public keys pointing into
 * `$DQKD_HOME/pki`), then left alone, so an operator's edits survive restarts.
 */
export function ensureNetworkFile(home: string): string {
  const file = path.join(home, 'network.yaml');
  if (!existsSync(file)) {
    const example = readFileSync(EXAMPLE, 'utf8').replaceAll('../.dqkd/pki/', 'pki/');
    writeFileSync(file, example, { flag: 'wx' });
  }
  return file;
}
