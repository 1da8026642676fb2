import { readFile } from 'node:fs/promises';

import { credsAuthenticator, type Authenticator } from '@nats-io/transport-node';

import { tlsMaterialProblem, type TlsOptions, type TlsSources } from '@dqkd/pki';

import { BusConfigError } from '../errors';
import type { ResolvedNatsOptions } from './options';

const TLS_FILES = { ca: 'caFile', cert: 'certFile', key: 'keyFile' } as const;

/**
 * Reads the TLS files and the credentials the NATS client would log in with, and refuses material that never
 * could: the client reads it only when it connects, and would then fail (or retry for ever, on a reconnect)
 * with a message that names neither the file nor what is wrong with it. The TLS files stay with the client,
 * which reads them again on each connect (a rotated secret); the credentials become its authenticator.
 */
export async function connectionMaterial(
  resolved: ResolvedNatsOptions,
): Promise<{ authenticator?: Authenticator }> {
  await checkTlsFiles(resolved.connection.tls ?? undefined);
  if (resolved.credsFile === undefined) return {};
  const creds = await readFile(resolved.credsFile).catch((cause) => {
    throw new BusConfigError('auth.credsFile', `cannot be read (${String(cause)})`);
  });
  const authenticator = credsAuthenticator(creds);
  try {
    // Parses the user JWT and decodes the seed; any nonce will do.
    authenticator('start-up check');
  } catch (error) {
    throw new BusConfigError(
      'auth.credsFile',
      `${resolved.credsFile} holds no NATS user credentials (${(error as Error).message})`,
    );
  }
  return { authenticator };
}

async function checkTlsFiles(tls: { caFile?: string; certFile?: string; keyFile?: string } | undefined) {
  if (tls === undefined) return;
  const parts = Object.entries(TLS_FILES).flatMap(([part, option]) => {
    const file = tls[option];
    return file === undefined ? [] : [{ part, file, source: { file, variable: `tls.${option}` } }];
  });
  const texts = await Promise.all(
    parts.map(({ file, source }) =>
      readFile(file, 'utf8').catch((cause) => {
        throw new BusConfigError(source.variable, `cannot be read (${String(cause)})`);
      }),
    ),
  );
  const material = Object.fromEntries(parts.map(({ part }, i) => [part, texts[i]])) as Partial<TlsOptions>;
  const from = Object.fromEntries(parts.map(({ part, source }) => [part, source])) as Partial<TlsSources>;
  const problem = tlsMaterialProblem(material, from);
  if (problem) throw new BusConfigError(problem.variable, problem.message);
}
