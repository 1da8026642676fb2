import { generateKeyPair } from 'node:crypto';
import { promisify } from 'node:util';

const generateKeyPairAsync = promisify(generateKeyPair);

// node-forge signs certificates only with RSA, so every key is RSA; Node generates it natively (forge's
// pure-JavaScript generator takes seconds per key) and off the main thread, so several keys come in parallel.
export const RSA_MODULUS_BITS = 2048;

/** A fresh RSA private key as unencrypted PKCS#8 PEM. */
export async function generatePrivateKeyPem(): Promise<string> {
  const { privateKey } = await generateKeyPairAsync('rsa', {
    modulusLength: RSA_MODULUS_BITS,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return privateKey;
}
