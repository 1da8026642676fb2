import { randomBytes } from 'node:crypto';

import { DqkdConfig, DqkdConfigModule, parseNetwork, parseProcessEnv } from '@dqkd/config';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { ed25519 } from '@noble/curves/ed25519.js';
import { ml_kem768_x25519 } from '@noble/post-quantum/hybrid.js';
import { Test } from '@nestjs/testing';
import { stringify } from 'yaml';

import {
  BUS,
  BUS_READINESS,
  BusClosedError,
  BusModule,
  siteNaming,
  type Bus,
  type BusMessage,
  type Topology,
} from '../src';
import { NATS_URL } from './support/harness';

const base64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
const publicKeys = () => ({
  kem_public_key: base64(ml_kem768_x25519.keygen().publicKey),
  sig_public_key: base64(ed25519.keygen().publicKey),
});

function processConfig(env: Record<string, string>): DqkdConfig {
  const network = parseNetwork(
    stringify({
      version: 1,
      kmes: [
        { id: 'kme-east', site: 'east', api_url: 'https://127.0.0.1:8443', public_keys: publicKeys() },
        { id: 'kme-west', site: 'west', api_url: 'https://127.0.0.1:9443', public_keys: publicKeys() },
      ],
      saes: [{ id: 'sae-alice', certificate_cn: 'sae-alice', kme: 'kme-east' }],
      entropy_servers: [1, 2, 3].map((n) => ({
        id: `entropy-${n}`,
        url: `https://127.0.0.1:${7000 + n}`,
        certificate_cn: `entropy-${n}`,
      })),
    }),
    { file: 'network.yaml', location: '/etc/dqkd/network.yaml', readFile: () => '' },
  );
  const parsed = parseProcessEnv(
    { KME_ID: 'kme-east', DQKD_NETWORK_FILE: '/etc/dqkd/network.yaml', ...env },
    '/',
  );
  if (!parsed.env) throw new Error('test environment is invalid');
  return new DqkdConfig(network, { ...parsed.env, http: { ...parsed.env.http, apiPort: 8443 } });
}

describe.each([
  ['the in-memory bus', {}],
  ['NATS JetStream', { NATS_URL }],
])('BusModule over %s', (_name, env) => {
  const naming = siteNaming('kme-east', { prefix: `t${randomBytes(5).toString('hex')}` });
  const topology: Topology = {
    streams: [
      {
        name: naming.stream('blocks'),
        subjects: [naming.wildcard('blocks')],
        retention: 'limits',
        maxAgeMs: 60_000,
        duplicateWindowMs: 60_000,
      },
    ],
    consumers: [{ stream: naming.stream('blocks'), durable: 'module-test', ackWaitMs: 5_000, maxDeliver: 3 }],
  };

  afterAll(async () => {
    if (!('NATS_URL' in env)) return;
    const nc = await connect({ servers: NATS_URL, maxReconnectAttempts: 0 });
    await (await jetstreamManager(nc)).streams.delete(naming.stream('blocks')).catch(() => false);
    await nc.close();
  });

  it('injects a connected bus that provisions the topology, and closes it on shutdown', async () => {
    const module = await Test.createTestingModule({
      imports: [DqkdConfigModule.forRoot(processConfig(env)), BusModule.forRoot({ app: 'test', topology })],
    }).compile();
    const app = await module.init();
    const bus = app.get<Bus>(BUS);

    const received = new Promise<BusMessage>((resolve) => {
      void bus.consume(topology.consumers![0]!, async (message) => {
        await message.ack();
        resolve(message);
      });
    });
    await bus.publish(naming.subject('blocks', 'metadata'), new TextEncoder().encode('sealed'), {
      msgId: 'm-1',
    });
    expect(new TextDecoder().decode((await received).data)).toBe('sealed');

    const readiness = app.get<{ name: string; check(): Promise<void> }>(BUS_READINESS);
    await expect(readiness.check()).resolves.toBeUndefined();

    await app.close();
    await expect(readiness.check()).rejects.toBeInstanceOf(BusClosedError);
    await expect(
      bus.publish(naming.subject('blocks', 'metadata'), new Uint8Array([1]), { msgId: 'm-2' }),
    ).rejects.toBeInstanceOf(BusClosedError);
  });
});
