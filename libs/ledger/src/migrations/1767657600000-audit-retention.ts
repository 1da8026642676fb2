import { MigrationInterface, QueryRunner } from 'typeorm';

const APPEND_ONLY = `
  CREATE OR REPLACE FUNCTION audit_events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    RAISE EXCEPTION 'audit_events is append-only';
  END
  $$`;

/**
 * The audit trail lets go of events older than a week, and only of those: the reaper deletes what is older
 * than DQKD_AUDIT_RETENTION_DAYS, so the trail no longer grows for as long as the site runs (a row per
 * enc_keys batch, delivery and block), while an application that could rewrite or erase its recent history
 * still cannot. Updates and TRUNCATE stay refused. The index on occurred_at finds the old events.
 */
export class AuditRetention1767657600000 implements MigrationInterface {
  name = 'AuditRetention1767657600000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE INDEX audit_events_occurred_at ON audit_events (occurred_at)`);
    await queryRunner.query(`
      CREATE OR REPLACE FUNCTION audit_events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'DELETE' THEN
          IF OLD.occurred_at < now() - interval '7 days' THEN
            RETURN OLD;
          END IF;
          RAISE EXCEPTION 'audit_events is append-only: only events older than 7 days may be deleted';
        END IF;
        RAISE EXCEPTION 'audit_events is append-only';
      END
      $$`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(APPEND_ONLY);
    await queryRunner.query(`DROP INDEX audit_events_occurred_at`);
  }
}
