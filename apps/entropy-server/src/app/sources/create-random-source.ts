import { readFile } from 'node:fs/promises';

import type { RandomSourceSpec } from '@dqkd/config';

import { AnuSource } from './anu-source';
import { CsprngSource } from './csprng-source';
import { DeviceSource } from './device-source';
import { QryptSource } from './qrypt-source';
import type { RandomSource } from './random-source';
import { XorSource } from './xor-source';

/** Builds the configured source; tokens and API keys are read from their files here, once. */
export async function createRandomSource(spec: RandomSourceSpec): Promise<RandomSource> {
  switch (spec.kind) {
    case 'csprng':
      return new CsprngSource();
    case 'qrypt':
      return new QryptSource(spec.url, (await readFile(spec.tokenFile, 'utf8')).trim());
    case 'anu':
      return new AnuSource(spec.url, (await readFile(spec.keyFile, 'utf8')).trim());
    case 'device':
      return new DeviceSource(spec.path);
    case 'xor':
      return new XorSource(
        await createRandomSource(spec.sources[0]),
        await createRandomSource(spec.sources[1]),
      );
  }
}
