import * as path from 'node:path';

import { open } from '@dqkd/blast';
import type { NetworkConfig } from '@dqkd/config';
import { loadSealingIdentity, sealingIdentityFile } from '@dqkd/pki';

/**
 * The plaintexts of captured envelopes (metadata, assignments, acknowledgements), each opened as its addressee,
 * kme-east or kme-west, with the sealing identities of the development PKI in `pkiDir`. A scan of the sealed
 * bytes alone could never find material put inside an envelope. Expiry is not judged: a test may look after
 * short deadlines passed. An envelope neither KME can open fails the test that asked.
 */
export async function openEnvelopes(
  payloads: readonly Uint8Array[],
  pkiDir: string,
  network: NetworkConfig,
): Promise<Buffer[]> {
  const kmes = await Promise.all(
    ['kme-east', 'kme-west'].map(async (self) => ({
      self,
      identity: await loadSealingIdentity(path.join(pkiDir, sealingIdentityFile(self))),
    })),
  );
  return payloads.map((payload, i) => {
    for (const { self, identity } of kmes) {
      try {
        const { plaintext } = open(payload, {
          self,
          recipientKemSecret: identity.kemSecretKey,
          senderSigPublicKeys: (id) => network.kme(id)?.sealing.sigPublicKey,
          now: 0,
        });
        return Buffer.from(plaintext);
      } catch {
        // Addressed to the other KME: tried next.
      }
    }
    throw new Error(`captured message ${i} opens for neither kme-east nor kme-west`);
  });
}
