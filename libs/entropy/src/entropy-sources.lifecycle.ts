import type { OnApplicationShutdown } from '@nestjs/common';

import type { KmeEntropySources } from './entropy-sources';

/** Holds a KME's entropy sources for a Nest app and closes their connections on shutdown. */
export class EntropySourcesLifecycle implements OnApplicationShutdown {
  constructor(readonly entropy: KmeEntropySources) {}

  onApplicationShutdown(): void {
    this.entropy.close();
  }
}
