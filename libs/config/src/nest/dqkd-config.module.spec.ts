import { Injectable } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { stringify } from 'yaml';

import { validNetwork } from '../../test/network-fixture';
import { parseProcessEnv } from '../env/process-env';
import { parseNetwork } from '../network/parse-network';
import type { ProcessConfig } from '../process-config';
import { DqkdConfig, DqkdConfigModule } from './dqkd-config.module';

@Injectable()
class SiteGreeter {
  constructor(private readonly config: DqkdConfig) {}

  greet(): string {
    return `${this.config.kme.id} serves ${this.config.network.saesOf(this.config.kme.id).length} SAEs`;
  }
}

function config(kmeId: string): ProcessConfig {
  const network = parseNetwork(stringify(validNetwork()), {
    file: 'network.yaml',
    location: '/etc/dqkd/network.yaml',
    readFile: () => '',
  });
  const env = parseProcessEnv({ KME_ID: kmeId, DQKD_NETWORK_FILE: '/etc/dqkd/network.yaml' }, '/').env;
  return { network, env: { ...env!, http: { ...env!.http, apiPort: 8443 } } };
}

describe('DqkdConfigModule', () => {
  it('injects the configuration into any provider by its class', async () => {
    const module = await Test.createTestingModule({
      imports: [DqkdConfigModule.forRoot(config('kme-west'))],
      providers: [SiteGreeter],
    }).compile();
    expect(module.get(SiteGreeter).greet()).toBe('kme-west serves 2 SAEs');
    await module.close();
  });

  it('refuses a configuration whose KME_ID is not in the network', () => {
    const { network, env } = config('kme-north');
    expect(() => new DqkdConfig(network, env)).toThrow(
      'KME_ID "kme-north" is not a KME of /etc/dqkd/network.yaml',
    );
  });
});
