import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';

import forge from 'node-forge';

import { certificateIdentity, ensureDevPki, readMutualTlsServerOptions } from '@dqkd/pki';

import { CliUsageError } from '../src/cli/args';
import { clientOptions } from '../src/cli/connection';
import { STATUS } from './status-fixture';

const LIBRARY = path.resolve(__dirname, '..');
const PASSWORD = 'correct horse battery staple!';
/** What the test's KME answers any enc_keys: an ETSI error with details. */
const REFUSAL = {
  message: 'not all extension_mandatory parameters are supported',
  details: [{ extension_mandatory_unsupported: ['abc_route_type'] }],
};

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * The built `dqkd` command, as a user runs it. `stdin`, when given, is piped to it by a shell: a pipe, as in
 * `pass show … | dqkd …` (Node's own stdin pipes are sockets, which /dev/stdin does not open).
 */
async function dqkd(args: readonly string[], cwd: string, stdin?: string): Promise<Run> {
  const command = [process.execPath, path.join(LIBRARY, 'bin', 'dqkd.js'), ...args];
  const child =
    stdin === undefined
      ? spawn(command[0]!, command.slice(1), { cwd, env: { PATH: process.env['PATH'] } })
      : spawn('/bin/sh', ['-c', 'printf %s "$STDIN" | "$@"', 'sh', ...command], {
          cwd,
          env: { PATH: process.env['PATH'], STDIN: stdin },
        });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdin.end();
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stdout, stderr };
}

/** The SAE's key, certificate and CA as a PKCS#12 protected by `password`, as buildPkcs12 makes it. */
async function protectedPkcs12(pki: string, sae: string, password: string): Promise<Buffer> {
  const [key, certificate, ca] = await Promise.all(
    [`${sae}.key`, `${sae}.pem`, 'ca.pem'].map((file) => readFile(path.join(pki, file), 'utf8')),
  );
  const asn1 = forge.pkcs12.toPkcs12Asn1(
    forge.pki.privateKeyFromPem(key!),
    [forge.pki.certificateFromPem(certificate!), forge.pki.certificateFromPem(ca!)],
    password,
    { algorithm: 'aes256', friendlyName: sae, generateLocalKeyId: true },
  );
  return Buffer.from(forge.asn1.toDer(asn1).getBytes(), 'binary');
}

describe('the CLI with a password-protected PKCS#12 certificate', () => {
  let root: string;
  let pki: string;
  let server: https.Server;
  let kme: string;
  let p12: string;
  const callers: (string | undefined)[] = [];
  /** Request bodies the KME received, in order. */
  const bodies: string[] = [];

  /** A file holding `text`, for --p12-password-file. */
  async function passwordFile(name: string, text: string): Promise<string> {
    const file = path.join(root, name);
    await writeFile(file, text, { mode: 0o600 });
    return file;
  }

  /** `dqkd <command>` of sae-bob at the test's KME, with the connection options given. */
  const run = (command: 'status' | 'enc', connection: readonly string[], stdin?: string) =>
    dqkd(
      [command, 'sae-bob', '--json', '--kme', kme, '--ca', path.join(pki, 'ca.pem'), ...connection],
      root,
      stdin,
    );
  const status = (connection: readonly string[], stdin?: string) => run('status', connection, stdin);

  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'dqkd-cli-p12-'));
    pki = path.join(root, 'pki');
    await ensureDevPki({ dir: pki, kmes: ['kme-east'], saes: ['sae-alice'], entropyServers: [] });
    p12 = path.join(root, 'sae-alice.protected.p12');
    await writeFile(p12, await protectedPkcs12(pki, 'sae-alice', PASSWORD));
    server = https.createServer(await readMutualTlsServerOptions(pki, 'kme-east'), (req, res) => {
      callers.push(certificateIdentity((req.socket as TLSSocket).getPeerCertificate()));
      let body = '';
      req.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      req.on('end', () => bodies.push(body));
      const refused = req.url?.endsWith('/enc_keys');
      res.writeHead(refused ? 400 : 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(refused ? REFUSAL : STATUS));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    kme = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server?.closeAllConnections();
    if (server) await new Promise((resolve) => server.close(resolve));
    await rm(root, { recursive: true, force: true });
  });

  beforeEach(() => {
    callers.length = 0;
    bodies.length = 0;
  });

  it('presents the certificate of a PKCS#12 opened with the password from --p12-password-file', async () => {
    const file = await passwordFile('right.pass', `${PASSWORD}\n`);
    const run = await status(['--p12', p12, '--p12-password-file', file]);
    expect(run).toEqual({ code: 0, stdout: `${JSON.stringify(STATUS, null, 2)}\n`, stderr: '' });
    expect(callers).toEqual(['sae-alice']);
  });

  it("prints the KME's error message with its details, exit code 1", async () => {
    const file = await passwordFile('right.pass', `${PASSWORD}\n`);
    const answer = await run('enc', ['--p12', p12, '--p12-password-file', file]);
    expect(answer).toEqual({
      code: 1,
      stdout: '',
      stderr:
        'dqkd: the KME answered 400: not all extension_mandatory parameters are supported ' +
        '[{"extension_mandatory_unsupported":["abc_route_type"]}]\n',
    });
  });

  it('asks for the TTL of --ttl as a mandatory extension, so that a link allowing less refuses rather than cuts it', async () => {
    const file = await passwordFile('right.pass', `${PASSWORD}\n`);
    await run('enc', ['--p12', p12, '--p12-password-file', file, '--ttl', '600', '--number', '2']);
    expect(bodies.map((body) => JSON.parse(body) as unknown)).toEqual([
      { number: 2, extension_mandatory: [{ dqkd_ttl: 600 }] },
    ]);
  });

  it('reads the password from standard input with --p12-password-file /dev/stdin', async () => {
    const run = await status(['--p12', p12, '--p12-password-file', '/dev/stdin'], `${PASSWORD}\n`);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(callers).toEqual(['sae-alice']);
  });

  it('reads the password from a named pipe, as from <(pass show …)', async () => {
    const fifo = path.join(root, 'password.fifo');
    execFileSync('mkfifo', [fifo]);
    // The writer comes after dqkd has opened the pipe: a second open of it would wait for one forever.
    const command = [
      process.execPath,
      path.join(LIBRARY, 'bin', 'dqkd.js'),
      ...['status', 'sae-bob', '--json', '--kme', kme, '--ca', path.join(pki, 'ca.pem')],
      ...['--p12', p12, '--p12-password-file', fifo],
    ];
    const child = spawn(command[0]!, command.slice(1), {
      cwd: root,
      env: { PATH: process.env['PATH'] },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 10_000,
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const writer = spawn('/bin/sh', ['-c', 'sleep 0.3; printf "%s\\n" "$PASSWORD" > "$FIFO"'], {
      env: { PATH: process.env['PATH'], PASSWORD, FIFO: fifo },
      stdio: 'ignore',
      timeout: 10_000,
    });
    const [[code], [writerCode]] = (await Promise.all([once(child, 'close'), once(writer, 'close')])) as [
      [number | null],
      [number | null],
    ];
    expect({ code, stderr, writerCode }).toEqual({ code: 0, stderr: '', writerCode: 0 });
    expect(callers).toEqual(['sae-alice']);
  }, 20_000);

  it('refuses to read the password from a terminal, which would show it as it is typed', async () => {
    // script(1) runs the command with a pseudo-terminal as its standard input, as at a prompt.
    const command = [
      process.execPath,
      path.join(LIBRARY, 'bin', 'dqkd.js'),
      'status',
      'sae-bob',
      '--kme',
      kme,
      '--ca',
      path.join(pki, 'ca.pem'),
      '--p12',
      p12,
      '--p12-password-file',
      '/dev/stdin',
    ].map((arg) => `'${arg}'`);
    const child = spawn('script', ['-qec', command.join(' '), '/dev/null'], {
      cwd: root,
      env: { PATH: process.env['PATH'] },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    const [code] = (await once(child, 'close')) as [number | null];
    expect({ code, output: output.trim() }).toEqual({
      code: 64,
      output:
        'dqkd: --p12-password-file /dev/stdin is a terminal, which would show the password as it is typed: ' +
        'name a file, or pipe the password in (... | dqkd ... --p12-password-file /dev/stdin)',
    });
    expect(callers).toEqual([]);
  });

  it('tells a wrong password in one line naming the file, with exit code 64, before any request', async () => {
    const file = await passwordFile('wrong.pass', 'not the password\n');
    expect(await status(['--p12', p12, '--p12-password-file', file])).toEqual({
      code: 64,
      stdout: '',
      stderr:
        `dqkd: --p12 ${p12}: wrong password (mac verify failure): the password in --p12-password-file ` +
        `${file} does not open it\n`,
    });
    expect(callers).toEqual([]);
  });

  it('tells a protected PKCS#12 given without its password to give it with --p12-password-file', async () => {
    expect(await status(['--p12', p12])).toEqual({
      code: 64,
      stdout: '',
      stderr:
        `dqkd: --p12 ${p12}: wrong password (mac verify failure): the file does not open with the empty ` +
        'password; give its password in a file with --p12-password-file <file>\n',
    });
    expect(callers).toEqual([]);
  });

  it('names a password file it cannot read', async () => {
    const missing = path.join(root, 'missing.pass');
    expect(await status(['--p12', p12, '--p12-password-file', missing])).toEqual({
      code: 64,
      stdout: '',
      stderr: `dqkd: --p12-password-file: cannot read ${missing}: ENOENT\n`,
    });
  });

  it('drops one trailing newline (LF or CRLF) of the password file, and no more', async () => {
    const connection = { kmeUrl: kme, ca: path.join(pki, 'ca.pem'), home: root, p12 };
    for (const text of [PASSWORD, `${PASSWORD}\n`, `${PASSWORD}\r\n`]) {
      const p12PasswordFile = await passwordFile('each.pass', text);
      expect(clientOptions({ ...connection, p12PasswordFile })).toMatchObject({ passphrase: PASSWORD });
    }
    const p12PasswordFile = await passwordFile('two-newlines.pass', `${PASSWORD}\n\n`);
    expect(() => clientOptions({ ...connection, p12PasswordFile })).toThrow(
      new CliUsageError(
        `--p12 ${p12}: wrong password (mac verify failure): the password in --p12-password-file ` +
          `${p12PasswordFile} does not open it`,
      ),
    );
  });

  it('says what a --p12 file that is not a PKCS#12 is, with the password file it was given', async () => {
    const p12PasswordFile = await passwordFile('for-a-pem.pass', PASSWORD);
    const pem = path.join(pki, 'sae-alice.pem');
    expect(() =>
      clientOptions({ kmeUrl: kme, ca: path.join(pki, 'ca.pem'), home: root, p12: pem, p12PasswordFile }),
    ).toThrow(
      new CliUsageError(
        `--p12 ${pem} (PKCS#12, password from --p12-password-file ${p12PasswordFile}) does not load: wrong tag`,
      ),
    );
  });
});
