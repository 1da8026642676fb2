import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

import {
  createAccount,
  createOperator,
  createUser,
  encodeAccount,
  encodeOperator,
  encodeUser,
  fmtCreds,
} from '@nats-io/jwt';

import { ensureDevPki } from '@dqkd/pki';

import { BusConfigError, BusUnavailableError, JetStreamBus, type NatsBusOptions } from '../src';
import { workQueueTopology } from './support/harness';
import { freePort, PrivateNatsServer } from './support/nats-server';
import { bytes } from './support/wait';

/** Connects, publishes one message to a stream it provisioned, and closes: the whole path works. */
async function publishesThrough(options: NatsBusOptions): Promise<void> {
  const { topology, subject } = workQueueTopology();
  const bus = await JetStreamBus.connect(options, topology);
  try {
    const receipt = await bus.publish(subject, bytes('assignment'), { msgId: randomUUID() });
    expect(receipt.duplicate).toBe(false);
  } finally {
    await bus.close({ graceMs: 100 });
  }
}

/** The bus refuses `options` with a BusConfigError of `field`, before any server is asked. */
async function refusedBeforeConnecting(
  options: Omit<NatsBusOptions, 'servers'>,
  field: string,
  text: string,
) {
  const nobody = `nats://127.0.0.1:${await freePort()}`;
  const refusal = JetStreamBus.connect({ ...options, servers: nobody }, workQueueTopology().topology);
  await expect(refusal).rejects.toBeInstanceOf(BusConfigError);
  await expect(refusal).rejects.toMatchObject({ field, message: expect.stringContaining(text) });
}

describe('a tls:// NATS URL', () => {
  it('is refused by a server that offers no TLS, before the login is sent', async () => {
    // What someone between the app and NATS could answer: a server greeting that leaves TLS out.
    let received = '';
    const sockets = new Set<Socket>();
    const impostor = createServer((socket) => {
      sockets.add(socket);
      socket.on('data', (chunk) => (received += chunk.toString()));
      socket.on('error', () => undefined);
      socket.write(
        `INFO ${JSON.stringify({ server_id: 'x', version: '2.9.10', proto: 1, headers: true, max_payload: 1 << 20 })}\r\n`,
      );
    });
    await new Promise<void>((resolve) => impostor.listen(0, '127.0.0.1', resolve));
    const { port } = impostor.address() as { port: number };
    try {
      const connecting = JetStreamBus.connect(
        { servers: `tls://dqkd-east:s3cret@127.0.0.1:${port}`, maxReconnectAttempts: 0 },
        workQueueTopology().topology,
      );
      await expect(connecting).rejects.toBeInstanceOf(BusUnavailableError);
      // Before: the client went on in plain text, and its CONNECT carried the password.
      expect(received).not.toContain('s3cret');
    } finally {
      sockets.forEach((socket) => socket.destroy());
      impostor.close();
    }
  });
});

describe('JetStream over TLS, the server verifying client certificates', () => {
  let dir: string;
  let pki: string;
  let server: PrivateNatsServer;
  const file = (name: string) => path.join(pki, name);

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'dqkd-nats-tls-'));
    pki = path.join(dir, 'pki');
    await ensureDevPki({ dir: pki, kmes: ['kme-east', 'kme-west'], saes: [] });
    await writeFile(path.join(dir, 'placeholder.pem'), 'REPLACE-ME: PEM from the secret');
    server = await PrivateNatsServer.start(
      `tls { cert_file: "${file('kme-west.pem')}", key_file: "${file('kme-west.key')}", ` +
        `ca_file: "${file('ca.pem')}", verify: true }`,
    );
  });

  afterAll(async () => {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const clientTls = () => ({
    caFile: file('ca.pem'),
    certFile: file('kme-east.pem'),
    keyFile: file('kme-east.key'),
  });

  it('connects with the CA, certificate and key it is given, and publishes', async () => {
    await publishesThrough({ servers: `tls://127.0.0.1:${server.port}`, tls: clientTls() });
  });

  it('is refused by the server when it brings no client certificate', async () => {
    const refusal = JetStreamBus.connect(
      {
        servers: `tls://127.0.0.1:${server.port}`,
        tls: { caFile: file('ca.pem') },
        maxReconnectAttempts: 0,
        requestTimeoutMs: 1000,
      },
      workQueueTopology().topology,
    );
    await expect(refusal).rejects.toBeInstanceOf(BusUnavailableError);
  });

  it.each([
    ['caFile', 'holds no PEM CA certificate ('],
    ['certFile', 'holds no PEM certificate ('],
    ['keyFile', 'holds no PEM private key ('],
  ] as const)('refuses a %s left a placeholder before connecting, naming the file', async (option, text) => {
    const placeholder = path.join(dir, 'placeholder.pem');
    const tls = { ...clientTls(), [option]: placeholder };
    await refusedBeforeConnecting({ tls }, `tls.${option}`, `${placeholder} ${text}`);
  });

  it("refuses a key that is not its certificate's before connecting", async () => {
    const tls = { ...clientTls(), keyFile: file('kme-west.key') };
    await refusedBeforeConnecting({ tls }, 'tls.keyFile', 'is not the private key of the certificate in');
  });
});

describe('JetStream logging in with a user credentials file (decentralised JWT accounts)', () => {
  let dir: string;
  let server: PrivateNatsServer;
  let credsFile: string;
  let strangerCredsFile: string;

  /** A user of a fresh account with JetStream, its credentials file, and the account's JWT. */
  async function accountWithUser(operator: ReturnType<typeof createOperator>, name: string) {
    const account = createAccount();
    const accountJwt = await encodeAccount(
      name,
      account,
      // Limits left out are zero: no connection at all.
      {
        limits: {
          conn: -1,
          subs: -1,
          data: -1,
          payload: -1,
          mem_storage: -1,
          disk_storage: -1,
          streams: -1,
          consumer: -1,
        },
      },
      { signer: operator },
    );
    const user = createUser();
    const file = path.join(dir, `${name}.creds`);
    await writeFile(file, fmtCreds(await encodeUser(`${name}-user`, user, account), user));
    return { publicKey: account.getPublicKey(), accountJwt, file };
  }

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'dqkd-nats-creds-'));
    const operator = createOperator();
    const known = await accountWithUser(operator, 'kme-east');
    // JetStream needs a system account in this mode.
    const system = createAccount();
    const systemJwt = await encodeAccount('SYS', system, {}, { signer: operator });
    // Signed by an operator the server does not trust.
    const stranger = await accountWithUser(createOperator(), 'stranger');
    credsFile = known.file;
    strangerCredsFile = stranger.file;
    const operatorJwt = await encodeOperator('dqkd-test', operator, {
      system_account: system.getPublicKey(),
    });
    server = await PrivateNatsServer.start(
      `operator: ${operatorJwt}\n` +
        `system_account: ${system.getPublicKey()}\n` +
        'resolver: MEMORY\n' +
        `resolver_preload: { ${known.publicKey}: ${known.accountJwt}, ${system.getPublicKey()}: ${systemJwt} }\n`,
    );
  });

  afterAll(async () => {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('connects with the credentials file it is given, and publishes', async () => {
    await publishesThrough({ servers: server.url, auth: { credsFile } });
  });

  it('is refused by the server without credentials, or with those of an account it does not know', async () => {
    const topology = workQueueTopology().topology;
    for (const auth of [undefined, { credsFile: strangerCredsFile }]) {
      const refusal = JetStreamBus.connect({ servers: server.url, auth, maxReconnectAttempts: 0 }, topology);
      await expect(refusal).rejects.toBeInstanceOf(BusUnavailableError);
    }
  });

  it('refuses a credentials file left a placeholder before connecting, naming the file', async () => {
    const placeholder = path.join(dir, 'placeholder.creds');
    await writeFile(placeholder, 'REPLACE-ME: the user credentials');
    await refusedBeforeConnecting(
      { auth: { credsFile: placeholder } },
      'auth.credsFile',
      `${placeholder} holds no NATS user credentials (unable to parse credentials)`,
    );
  });
});
