import { DecapsulationCache, type OpenOptions } from '@dqkd/blast';
import type { DqkdConfig } from '@dqkd/config';
import type { SealingIdentity } from '@dqkd/pki';
import type { OnModuleDestroy } from '@nestjs/common';

/**
 * Shared encapsulations remembered: a peer's gateway replicas each seal the assignments of their current
 * lease with one, so a few per peer are in use at any time.
 */
const SHARED_ENCAPSULATIONS = 64;

/**
 * A remembered shared secret unused this long is dropped: a gateway seals with one for a lease, which it uses
 * for 30 s at most; an assignment redelivered later costs one more decapsulation.
 */
const SHARED_ENCAPSULATION_IDLE_MS = 60_000;

/** This KME's sealing identity and its peers' public keys from the network file. */
export class SiteKeys implements OnModuleDestroy {
  /** For assignments only: every other envelope encapsulates afresh, so remembering those would be waste. */
  readonly assignmentDecapsulations = new DecapsulationCache(
    SHARED_ENCAPSULATIONS,
    SHARED_ENCAPSULATION_IDLE_MS,
  );

  constructor(
    private readonly config: DqkdConfig,
    readonly identity: SealingIdentity,
  ) {}

  /** Shared secrets are key-encryption secrets: zeroed when the app stops, not left to the garbage collector. */
  onModuleDestroy(): void {
    this.assignmentDecapsulations.clear();
  }

  get self(): string {
    return this.config.kme.id;
  }

  openOptions(now = Date.now()): OpenOptions {
    return {
      self: this.config.kme.id,
      recipientKemSecret: this.identity.kemSecretKey,
      senderSigPublicKeys: (id) => this.config.network.kme(id)?.sealing.sigPublicKey,
      now,
    };
  }

  kemPublicKeyOf(peer: string): Uint8Array {
    const kme = this.config.network.kme(peer);
    if (!kme) throw new Error(`${peer} is not a KME of the network file`);
    return kme.sealing.kemPublicKey;
  }
}
