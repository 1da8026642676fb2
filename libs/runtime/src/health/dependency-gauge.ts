import { gaugeProvider, MetricDefinitionError, type Gauge } from '@dqkd/metrics';

import { READINESS_CHECKS } from './health.controller';
import type { ReadinessCheck } from './readiness-check';

export const DEPENDENCY_UP = 'dqkd_dependency_up';

/**
 * The names the apps' readiness checks go by: LedgerModule's, BusModule's and the entropy server's pools. The
 * gauge's label takes its values before the checks exist, so each check is held to them as it is registered.
 */
const DEPENDENCIES: readonly string[] = ['ledger', 'bus', 'pools'];

/** A scrape waits this long at most for a dependency that does not answer, which then counts as down. */
const CHECK_TIMEOUT_MS = 2000;

/**
 * `dqkd_dependency_up{dependency}`: each readiness check's answer at every scrape. A process whose database
 * or NATS is out of reach keeps running and serving its metrics (only its readiness fails), and its other
 * gauges keep their last values, so without this no alert could see the outage.
 */
export const dependencyGaugeProvider = gaugeProvider<[readonly ReadinessCheck[]]>({
  name: DEPENDENCY_UP,
  help: `Whether a dependency this process needs (${DEPENDENCIES.join(', ')}) answers its readiness check: 1 or 0`,
  labels: { dependency: DEPENDENCIES },
  inject: [READINESS_CHECKS],
  collect: async (gauge: Gauge, checks) => {
    const results = await Promise.all(
      checks.map(async (check) => [check.name, await answers(check)] as const),
    );
    // Only this app's dependencies: the series of the others (started at 0) would read as down.
    gauge.reset();
    for (const [dependency, up] of results) gauge.set({ dependency }, up ? 1 : 0);
  },
});

/**
 * `checks`, once each is known to go by one of the gauge's label values: a check renamed or added without them
 * would stop the process at start rather than fall outside the series its dashboards and alerts expect.
 */
export function labelledChecks(checks: readonly ReadinessCheck[]): readonly ReadinessCheck[] {
  for (const { name } of checks) {
    if (!DEPENDENCIES.includes(name)) {
      throw new MetricDefinitionError(
        `${DEPENDENCY_UP}: readiness check "${name}" is not one of its dependency values (${DEPENDENCIES.join(', ')})`,
      );
    }
  }
  return checks;
}

/**
 * Checks still running, by check: a scrape that finds one (a database that does not answer, whose connect
 * takes minutes to fail) waits on it rather than start another, so scrapes never pile checks up.
 */
const running = new WeakMap<ReadinessCheck, Promise<void>>();

async function answers(check: ReadinessCheck): Promise<boolean> {
  let pending = running.get(check);
  if (pending === undefined) {
    pending = check.check().finally(() => running.delete(check));
    running.set(check, pending);
  }
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), CHECK_TIMEOUT_MS)));
  try {
    return await Promise.race([pending.then(() => true as const), late]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}
