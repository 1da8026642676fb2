import path from 'node:path';

export const CA_CERTIFICATE_FILE = 'ca.pem';
export const CA_KEY_FILE = 'ca.key';

export const certificateFile = (id: string): string => `${id}.pem`;
export const privateKeyFile = (id: string): string => `${id}.key`;
export const pkcs12File = (id: string): string => `${id}.p12`;
export const sealingIdentityFile = (kmeId: string): string => `${kmeId}.sealing.json`;
export const sealingPublicKeysFile = (kmeId: string): string => `${kmeId}.sealing.pub.json`;

/** `$DQKD_HOME/pki`, with `DQKD_HOME` defaulting to `.dqkd` under `cwd`. */
export function defaultPkiDir(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): string {
  return path.resolve(cwd, env.DQKD_HOME || '.dqkd', 'pki');
}
