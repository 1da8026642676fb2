import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { JetStreamBus, siteTopology, type Bus, type BusMessage, protocolSubject } from '../src';
import { accepts, freePort } from './support/nats-server';
import { sleep, text, waitFor } from './support/wait';

/** A private nats-server with its own JetStream domain, from a configuration file. */
class DomainServer {
  private constructor(
    private readonly child: ChildProcess,
    private readonly dir: string,
    readonly url: string,
  ) {}

  static async start(domain: string, leaf: { listen?: number; remote?: number }): Promise<DomainServer> {
    const dir = await mkdtemp(join(tmpdir(), `dqkd-nats-${domain}-`));
    const port = await freePort();
    const leafnodes = leaf.listen
      ? `leafnodes { listen: "127.0.0.1:${leaf.listen}" }`
      : `leafnodes { remotes: [ { url: "nats-leaf://127.0.0.1:${leaf.remote}" } ] }`;
    const config = [
      `listen: "127.0.0.1:${port}"`,
      `jetstream { store_dir: "${dir}", domain: ${domain} }`,
      leafnodes,
    ].join('\n');
    await writeFile(join(dir, 'nats.conf'), config);
    const child = spawn('nats-server', ['-c', join(dir, 'nats.conf')], { stdio: 'ignore' });
    const deadline = Date.now() + 10_000;
    while (!(await accepts(port))) {
      if (child.exitCode !== null || Date.now() > deadline)
        throw new Error(`nats-server ${domain} did not start`);
      await sleep(50);
    }
    return new DomainServer(child, dir, `nats://127.0.0.1:${port}`);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve));
      this.child.kill('SIGKILL');
      await exited;
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}

describe('site topology across two NATS servers joined by a leaf node', () => {
  let east: DomainServer;
  let west: DomainServer;
  const buses: Bus[] = [];

  beforeAll(async () => {
    const leafPort = await freePort();
    east = await DomainServer.start('east', { listen: leafPort });
    west = await DomainServer.start('west', { remote: leafPort });
  }, 30_000);

  afterAll(async () => {
    await Promise.all(buses.map((bus) => bus.close({ graceMs: 100 })));
    await west?.stop();
    await east?.stop();
  });

  it("gathers into the target's IN stream, on its own server, what the source published on the other", async () => {
    const domains = { 'kme-east': 'east', 'kme-west': 'west' } as Record<string, string>;
    const options = { peerDomain: (peer: string) => domains[peer] };
    const eastBus = await JetStreamBus.connect(
      { servers: east.url, name: 'east' },
      siteTopology('kme-east', ['kme-west'], options),
    );
    buses.push(eastBus);
    const subject = protocolSubject('kme-east', 'kme-west', 'metadata');
    await eastBus.publish(subject, new TextEncoder().encode('sealed metadata'), { msgId: 'metadata:1' });

    const westTopology = siteTopology('kme-west', ['kme-east'], options);
    const westBus = await JetStreamBus.connect({ servers: west.url, name: 'west' }, westTopology);
    buses.push(westBus);
    const seen: BusMessage[] = [];
    await westBus.consume(westTopology.consumers![0], async (m) => {
      seen.push(m);
      await m.ack();
    });

    await waitFor(() => seen.length === 1, 20_000, 'the sourced message at kme-west');
    expect([seen[0].subject, text(seen[0].data)]).toEqual([subject, 'sealed metadata']);
  }, 40_000);
});
