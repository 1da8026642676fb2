import { seal } from '@dqkd/blast';
import type { NetworkConfig } from '@dqkd/config';
import { encodeSamplePlaintext, refBody, type SampleAnswerBody } from '@dqkd/entropy';
import type { SealingIdentity } from '@dqkd/pki';

import type { ServedSample } from '../pools/pool-store';

/**
 * Seals each served sample to the KME that asked, signed with this server's Ed25519 key: TLS here has
 * no post-quantum key exchange, so the X-Wing envelope is what keeps recorded traffic useless later.
 */
export class SampleSealer {
  constructor(
    private readonly identity: SealingIdentity,
    private readonly network: NetworkConfig,
  ) {}

  /** Zeroes the sample's bytes and the plaintext once sealed. */
  answer(sample: ServedSample, caller: string): SampleAnswerBody {
    const kme = this.network.kme(caller);
    if (!kme) throw new Error(`${caller} is not a KME of the network file`);
    const plaintext = encodeSamplePlaintext(sample.ref.offset, sample.bytes);
    try {
      const envelope = seal(
        {
          kind: 'sample',
          subjectId: sample.ref.poolId,
          source: this.identity.kmeId,
          target: caller,
          expiresAt: sample.ref.notAfter,
        },
        plaintext,
        this.identity.sigSecretKey,
        kme.sealing.kemPublicKey,
      );
      return { ref: refBody(sample.ref), sample: Buffer.from(envelope).toString('base64') };
    } finally {
      plaintext.fill(0);
      sample.bytes.fill(0);
    }
  }
}
