import { ConfigError, ENVIRONMENT, type Environment } from '@dqkd/config';
import { LEASE_MARGIN_MS } from '@dqkd/ledger';
import { MAX_BLOCK_LIFETIME_MS } from '@dqkd/messaging';

/** The share of a block's lifetime before its deadline (and the lease margin) from which it is replaced. */
export const REFILL_LEAD = 0.1;

export interface GeneratorSettings {
  /** How often each link's pool is checked (ms). */
  readonly intervalMs: number;
  /** Blocks of one link made at once. */
  readonly concurrency: number;
  /** A block's life from creation: the source carves only from blocks younger than this. */
  readonly blockLifetimeMs: number;
  /**
   * How long the target has to confirm a block; also how long entropy servers keep its samples for the
   * target's read. A pending block older than this is burned.
   */
  readonly ackTimeoutMs: number;
}

const VARIABLES: Record<keyof GeneratorSettings, [name: string, fallback: number, min: number, max: number]> =
  {
    intervalMs: ['DQKD_GENERATOR_INTERVAL_MS', 200, 10, 600_000],
    concurrency: ['DQKD_GENERATOR_CONCURRENCY', 4, 1, 64],
    // At least a minute: gateways take leases only from blocks that live 10 s more (LEASE_MARGIN_MS). At most
    // what targets accept.
    blockLifetimeMs: ['DQKD_BLOCK_LIFETIME_MS', MAX_BLOCK_LIFETIME_MS, 60_000, MAX_BLOCK_LIFETIME_MS],
    ackTimeoutMs: ['DQKD_BLOCK_ACK_TIMEOUT_MS', 600_000, 1000, 3_600_000],
  };

/** The generator's tuning from the environment, each a bounded integer; a bad value stops the process. */
export function generatorSettings(env: Environment): GeneratorSettings {
  const issues: { source: string; path: string; message: string }[] = [];
  const settings = Object.fromEntries(
    Object.entries(VARIABLES).map(([field, [name, fallback, min, max]]) => {
      const text = env[name]?.trim();
      if (!text) return [field, fallback];
      const value = Number(text);
      if (!Number.isSafeInteger(value) || value < min || value > max) {
        issues.push({ source: ENVIRONMENT, path: name, message: `must be an integer from ${min} to ${max}` });
      }
      return [field, value];
    }),
  ) as unknown as GeneratorSettings;
  // A pending block stops counting in the pool once it is due for replacement: burned unconfirmed only later,
  // it never tells the generator that the target does not answer, and the link is filled again and again.
  // Less a round: the round that finds it burnable may first refill the link.
  const counted =
    Math.floor(settings.blockLifetimeMs * (1 - REFILL_LEAD)) - LEASE_MARGIN_MS - settings.intervalMs;
  if (issues.length === 0 && settings.ackTimeoutMs >= counted) {
    issues.push({
      source: ENVIRONMENT,
      path: 'DQKD_BLOCK_ACK_TIMEOUT_MS',
      message:
        `must be under ${counted} (nine tenths of DQKD_BLOCK_LIFETIME_MS, less 10 s and ` +
        'DQKD_GENERATOR_INTERVAL_MS): a block still pending then ' +
        'stops counting in the pool before it is burned unconfirmed',
    });
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return settings;
}
