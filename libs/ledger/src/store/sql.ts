import { createHash } from 'node:crypto';

import { EntityManager } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver.js';

/** Runs `work` in the caller's transaction when there is one, else in a new one. */
export async function inTransaction<T>(
  manager: EntityManager,
  work: (manager: EntityManager) => Promise<T>,
): Promise<T> {
  if (manager.queryRunner?.isTransactionActive) {
    return work(manager);
  }
  return manager.transaction(work);
}

interface PgQueryable {
  query(query: { name: string; text: string; values: unknown[] }): Promise<{ rows: unknown[] }>;
}

/**
 * The driver's own connection of the manager's transaction, else the driver's pool. The stores write plain
 * SQL, and TypeORM's per-query machinery around it cost more CPU than the query itself on the hot paths.
 */
function driverOf(manager: EntityManager): PgQueryable {
  const runner = manager.queryRunner as
    { isTransactionActive?: boolean; databaseConnection?: PgQueryable } | undefined;
  if (runner?.isTransactionActive && runner.databaseConnection !== undefined) {
    return runner.databaseConnection;
  }
  return (manager.connection.driver as PostgresDriver).master as PgQueryable;
}

/** Statement names by SQL text: every text the stores send is one of a few fixed ones. */
const statementNames = new Map<string, string>();

/**
 * A name for `sql`, so the driver prepares it once per connection: Postgres then parses and plans the
 * batch statements (large CTEs over arrays) once, not on every call.
 */
function statementName(sql: string): string {
  let name = statementNames.get(sql);
  if (name === undefined) {
    name = `dqkd_${createHash('sha256').update(sql).digest('hex').slice(0, 32)}`;
    statementNames.set(sql, name);
  }
  return name;
}

/** Rows of a plain SELECT or of an INSERT/UPDATE/DELETE … RETURNING; none for other statements. */
export async function rows<T>(manager: EntityManager, sql: string, parameters: unknown[] = []): Promise<T[]> {
  const query = { name: statementName(sql), text: sql, values: parameters };
  return (await driverOf(manager).query(query)).rows as T[];
}

/** A string field of a pg driver error, also when TypeORM wraps it in a QueryFailedError. */
function driverField(error: unknown, field: 'code' | 'constraint' | 'column'): string | undefined {
  const candidate = (error ?? {}) as { driverError?: Record<string, unknown> } & Record<string, unknown>;
  const value = candidate.driverError?.[field] ?? candidate[field];
  return typeof value === 'string' ? value : undefined;
}

/** The SQLSTATE of a driver error, if it has one. */
export const sqlState = (error: unknown): string | undefined => driverField(error, 'code');

/** The constraint a driver error names, if it names one. */
export const sqlConstraint = (error: unknown): string | undefined => driverField(error, 'constraint');

/** The column a driver error names (a NOT NULL violation names one). */
export const sqlColumn = (error: unknown): string | undefined => driverField(error, 'column');

const NUMERIC_VALUE_OUT_OF_RANGE = '22003';
export const NOT_NULL_VIOLATION = '23502';
const CHECK_VIOLATION = '23514';
export const UNIQUE_VIOLATION = '23505';
export const EXCLUSION_VIOLATION = '23P01';

/** The checks that bits lie where they can: inside their block or reservation, on a slot of their group. */
const BITS_CHECKS: ReadonlySet<string> = new Set([
  'bit_ranges_not_empty',
  'bit_ranges_inside_block',
  'blocks_reserved_within',
  'keys_inside_reservation',
  'key_groups_inside_reservation',
  'keys_group_slot',
]);

/**
 * Whether a failed write named bits that cannot be: outside their block or reservation, or beyond the
 * columns' integers. Writing the same bits again can never succeed.
 */
export function isImpossibleBits(error: unknown): boolean {
  const state = sqlState(error);
  if (state === NUMERIC_VALUE_OUT_OF_RANGE) return true;
  return state === CHECK_VIOLATION && BITS_CHECKS.has(sqlConstraint(error) ?? '');
}
