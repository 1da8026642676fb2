import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

import type { EtsiClient } from '@dqkd/client';

import { EmbeddedProcess, prepareHome, saeClient, scrape, WORKSPACE, type MetricsEndpoint } from '../observe';
import { History, type Snapshot } from './history';
import { PANELS } from './panels';
import { renderDashboard, type PanelLayout } from './svg';

const ROUNDS = 24;
const INTERVAL_MS = 1500;
const KEY_BITS = 8192;

/**
 * `npm run dashboard-snapshot [-- out.svg]`: starts the embedded network in a throwaway home, drives keys
 * through the ETSI API of both sites, scrapes every app's /metrics each round, and draws the panels of
 * deploy/grafana/dqkd.json from those samples (default docs/dashboard.svg). No Grafana runs here, so this
 * is the picture of the dashboard the README shows.
 */
async function main(): Promise<void> {
  // Under `npm run`, the working directory is the package folder; INIT_CWD is where the operator typed.
  const given = process.argv[2];
  const out =
    given === undefined
      ? path.join(WORKSPACE, 'docs/dashboard.svg')
      : path.resolve(process.env.INIT_CWD || process.cwd(), given);
  const dashboard = JSON.parse(readFileSync(path.join(WORKSPACE, 'deploy/grafana/dqkd.json'), 'utf8')) as {
    title: string;
    panels: (PanelLayout & { fieldConfig?: { defaults?: { unit?: string } } })[];
  };
  const missing = dashboard.panels.filter((p) => p.type !== 'row' && !(p.title in PANELS));
  if (missing.length > 0) throw new Error(`no snapshot query for ${missing.map((p) => p.title).join(', ')}`);

  const home = mkdtempSync(path.join(tmpdir(), 'dqkd-dashboard-'));
  const ports = await prepareHome(home);
  const network = new EmbeddedProcess(home, ports.health);
  try {
    process.stdout.write('starting the embedded network…\n');
    await network.running();
    const endpoints = network.metricsEndpoints();
    const alice = saeClient(home, 'sae-alice', ports.east);
    const bob = saeClient(home, 'sae-bob', ports.west);
    const snapshots: Snapshot[] = [];
    for (let round = 0; round <= ROUNDS; round += 1) {
      snapshots.push(await snapshot(endpoints));
      if (round === ROUNDS) break;
      await traffic(alice, bob, round);
      await new Promise((resolve) => setTimeout(resolve, INTERVAL_MS));
      process.stdout.write(`round ${round + 1}/${ROUNDS}\n`);
    }
    alice.close();
    bob.close();
    const history = new History(snapshots);
    const panels = dashboard.panels.map((layout) => ({
      layout: { ...layout, unit: layout.fieldConfig?.defaults?.unit },
      series: layout.type === 'row' ? [] : PANELS[layout.title]!(history),
    }));
    const seconds = Math.round((snapshots[snapshots.length - 1]!.at - snapshots[0]!.at) / 1000);
    const caption = `drawn from ${snapshots.length} scrapes of ${endpoints.length} apps of the embedded network over ${seconds} s (npm run dashboard-snapshot)`;
    writeFileSync(out, renderDashboard(dashboard.title, panels, caption));
    process.stdout.write(`wrote ${out}\n`);
  } finally {
    await network.stop('SIGTERM');
    rmSync(home, { recursive: true, force: true });
  }
}

async function snapshot(endpoints: readonly MetricsEndpoint[]): Promise<Snapshot> {
  const at = Date.now();
  const apps = await Promise.all(
    endpoints.map(async (endpoint) => ({ endpoint, ...(await scrape(endpoint.url)) })),
  );
  return { at, apps };
}

/**
 * Keys both ways, fetched by the other side, and now and then a request the spec calls bad. The keys are large
 * (1 KiB) so that the pools fall under their low watermark within a few rounds and the generators refill them;
 * a refusal (a pool drained faster than it refills answers 503) is what the error panels are for, not a reason
 * to stop drawing.
 */
async function traffic(alice: EtsiClient, bob: EtsiClient, round: number): Promise<void> {
  const exchange = async (master: EtsiClient, slave: EtsiClient, names: [string, string], number: number) => {
    const sent = await master.encKeys(names[1], { number, size: KEY_BITS }).catch(() => undefined);
    if (sent)
      await slave
        .decKeys(
          names[0],
          sent.keys.map((key) => key.key_ID),
        )
        .catch(() => undefined);
  };
  await exchange(alice, bob, ['sae-alice', 'sae-bob'], 8 + (round % 4) * 4);
  await exchange(bob, alice, ['sae-bob', 'sae-alice'], 12 + (round % 3) * 8);
  if (round % 5 === 4) await bob.decKeys('sae-alice', [randomUUID()]).catch(() => undefined);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
