import { closeSync, openSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import { isatty } from 'node:tty';

import { loadNetworkFile } from '@dqkd/config';

import type { EtsiClientOptions } from '../etsi-client';
import { CliUsageError, type Connection } from './args';

/**
 * The KME URL and certificate files of a connection, defaults filled in from DQKD_HOME. A file that cannot be
 * read, or a URL that is not https, is a usage error naming the flag it came from (or the default it took).
 */
export function clientOptions(connection: Connection): EtsiClientOptions {
  const pki = path.join(connection.home, 'pki');
  const read = (flag: string, given: string | undefined, fallback: string) => {
    const file = path.resolve(given ?? fallback);
    try {
      return readFileSync(file);
    } catch (error) {
      if (given !== undefined) throw cannotRead(flag, file, error);
      throw new CliUsageError(
        `${flag} (default under --home ${connection.home}): cannot read ${file}: ${codeOf(error)}; run dqkd where ` +
          'npm start runs, or name its home with --home or DQKD_HOME',
      );
    }
  };
  const ca = read('--ca', connection.ca, path.join(pki, 'ca.pem'));
  // parseCommand asks for --sae unless both the certificate and --kme are given.
  const sae = connection.sae ?? '';
  // The network file names the KME, whose certificate must then name it too; --kme names a URL only.
  const { baseUrl, kmeId } =
    connection.kmeUrl !== undefined
      ? { baseUrl: connection.kmeUrl, kmeId: undefined }
      : kmeOf(sae, connection.networkFile ?? path.join(connection.home, 'network.yaml'));
  if (!isHttpsUrl(baseUrl)) {
    throw new CliUsageError(
      `the KME URL (--kme, or the api_url in network.yaml) must be https://<host>, not ${baseUrl}`,
    );
  }
  if (connection.p12 !== undefined) {
    const pfx = read('--p12', connection.p12, '');
    const passwordFile = connection.p12PasswordFile;
    // The newline that echo or an editor ends the file with is not part of the password (OpenSSL's -passin
    // file: reads one line too). Only one is dropped: a password that ends in a newline is written with two.
    const passphrase =
      passwordFile === undefined
        ? ''
        : readPassword(passwordFile)
            .toString('utf8')
            .replace(/\r?\n$/, '');
    try {
      createSecureContext({ pfx, passphrase });
    } catch (error) {
      throw new CliUsageError(p12Refusal(connection.p12, passwordFile, (error as Error).message));
    }
    return { baseUrl, kmeId, pfx, passphrase, ca };
  }
  const certFile = path.resolve(connection.cert ?? path.join(pki, `${sae}.pem`));
  const keyFile = path.resolve(connection.key ?? path.join(pki, `${sae}.key`));
  const cert = read('--cert', connection.cert, certFile);
  const key = read('--key', connection.key, keyFile);
  loads(`the certificate ${certFile} and key ${keyFile} (PEM)`, { cert, key });
  return { baseUrl, kmeId, cert, key, ca };
}

/** Loads the client identity as TLS will, so a wrong file is told before any request, with what it is. */
function loads(what: string, options: SecureContextOptions): void {
  try {
    createSecureContext(options);
  } catch (error) {
    throw new CliUsageError(`${what} do not load: ${(error as Error).message}`);
  }
}

/**
 * The password file, opened once: a named pipe opened a second time would wait for a writer that has gone,
 * its password lost with the first open. A terminal (/dev/stdin or /dev/tty at a prompt) is refused: it would
 * show the password as it is typed, since this CLI does not turn echo off.
 */
function readPassword(file: string): Buffer {
  const absolute = path.resolve(file);
  let fd: number;
  try {
    fd = openSync(absolute, 'r');
  } catch (error) {
    throw cannotRead('--p12-password-file', absolute, error);
  }
  try {
    if (isatty(fd)) {
      throw new CliUsageError(
        `--p12-password-file ${file} is a terminal, which would show the password as it is typed: ` +
          'name a file, or pipe the password in (... | dqkd ... --p12-password-file /dev/stdin)',
      );
    }
    return readFileSync(fd);
  } catch (error) {
    throw error instanceof CliUsageError ? error : cannotRead('--p12-password-file', absolute, error);
  } finally {
    closeSync(fd);
  }
}

function cannotRead(flag: string, file: string, error: unknown): CliUsageError {
  return new CliUsageError(`${flag}: cannot read ${file}: ${codeOf(error)}`);
}

function codeOf(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? String(error);
}

/**
 * Why a PKCS#12 file does not load, on one line. OpenSSL says "mac verify failure" when the password does not
 * match the file's integrity check: told as the wrong password, with the option that gives the right one.
 */
function p12Refusal(p12: string, passwordFile: string | undefined, reason: string): string {
  if (/mac verify failure/.test(reason)) {
    return passwordFile === undefined
      ? `--p12 ${p12}: wrong password (${reason}): the file does not open with the empty password; ` +
          'give its password in a file with --p12-password-file <file>'
      : `--p12 ${p12}: wrong password (${reason}): the password in --p12-password-file ${passwordFile} ` +
          'does not open it';
  }
  const what =
    passwordFile === undefined
      ? 'PKCS#12 with an empty password'
      : `PKCS#12, password from --p12-password-file ${passwordFile}`;
  return `--p12 ${p12} (${what}) does not load: ${reason}`;
}

function isHttpsUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === 'https:' && url.hostname !== '';
  } catch {
    return false;
  }
}

function kmeOf(sae: string, file: string): { baseUrl: string; kmeId: string } {
  let network;
  try {
    network = loadNetworkFile(file);
  } catch (error) {
    throw new CliUsageError(
      `${(error as Error).message}: run the CLI where npm start runs, or pass --home, or name the KME with --kme`,
    );
  }
  const kme = network.kmeOf(sae);
  if (!kme) throw new CliUsageError(`${sae} is not an SAE of ${file}; name the KME with --kme`);
  return { baseUrl: kme.apiUrl, kmeId: kme.id };
}
