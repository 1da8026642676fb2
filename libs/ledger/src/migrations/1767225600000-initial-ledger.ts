import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The whole ledger schema. Double use of a bit is ruled out by the database itself, not by application code:
 *
 * - `reservations` + `bit_ranges`: a reservation is an ordered list of bit ranges of blocks of one link. The
 *   exclusion constraint makes two ranges of one block overlap-free, and a composite foreign key carries the
 *   block size so a CHECK keeps every range inside its block.
 * - `keys` point into a reservation (offset, size); a second exclusion constraint keeps keys of one reservation
 *   disjoint, and a composite foreign key keeps them inside it. A key that spans blocks simply sits on a
 *   reservation with several ranges. (KeyGroups1767312000000 replaces that exclusion constraint and foreign key
 *   by key groups.)
 *
 * Throughput: a gateway replica reserves a large run of bits in one short transaction (one `bit_ranges` row per
 * block touched, `blocks.reserved_bits` as the cursor) and then carves many keys out of it, writing only key
 * rows, so recording a key never contends on a block row.
 */
export class InitialLedger1767225600000 implements MigrationInterface {
  name = 'InitialLedger1767225600000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE EXTENSION IF NOT EXISTS btree_gist`);

    await queryRunner.query(`
      CREATE TABLE links (
        id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        source_kme_id text NOT NULL,
        target_kme_id text NOT NULL,
        block_bits integer NOT NULL CONSTRAINT links_block_bits_positive CHECK (block_bits > 0),
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT links_pair_unique UNIQUE (source_kme_id, target_kme_id),
        CONSTRAINT links_distinct_ends CHECK (source_kme_id <> target_kme_id)
      )`);

    await queryRunner.query(`
      CREATE TABLE blocks (
        id uuid PRIMARY KEY,
        link_id integer NOT NULL REFERENCES links (id),
        role text NOT NULL CONSTRAINT blocks_role_known CHECK (role IN ('source', 'target')),
        state text NOT NULL DEFAULT 'pending'
          CONSTRAINT blocks_state_known CHECK (state IN ('pending', 'ready', 'burned')),
        bits integer NOT NULL CONSTRAINT blocks_bits_positive CHECK (bits > 0),
        reserved_bits integer NOT NULL DEFAULT 0,
        material_ciphertext bytea,
        material_wrapped_key bytea,
        material_kek_id integer,
        metadata bytea NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        ready_at timestamptz,
        expires_at timestamptz NOT NULL,
        burned_at timestamptz,
        burn_reason text,
        CONSTRAINT blocks_id_bits_unique UNIQUE (id, bits),
        CONSTRAINT blocks_reserved_within CHECK (reserved_bits BETWEEN 0 AND bits),
        CONSTRAINT blocks_material_whole
          CHECK (num_nonnulls(material_ciphertext, material_wrapped_key, material_kek_id) IN (0, 3)),
        CONSTRAINT blocks_live_have_material CHECK (state = 'burned' OR material_ciphertext IS NOT NULL),
        CONSTRAINT blocks_burned_have_no_material
          CHECK (state <> 'burned' OR (material_ciphertext IS NULL AND burn_reason IS NOT NULL AND burned_at IS NOT NULL)),
        CONSTRAINT blocks_ready_stamped CHECK (state <> 'ready' OR ready_at IS NOT NULL)
      )`);
    // Serves "oldest unexpired ready block of link L with bits left"; fully reserved blocks leave the index.
    await queryRunner.query(`
      CREATE INDEX blocks_carvable ON blocks (link_id, expires_at)
        WHERE state = 'ready' AND reserved_bits < bits`);
    await queryRunner.query(`CREATE INDEX blocks_expires_at ON blocks (expires_at)`);
    await queryRunner.query(
      `CREATE INDEX blocks_rewrap ON blocks (material_kek_id) WHERE material_kek_id IS NOT NULL`,
    );

    await queryRunner.query(`
      CREATE TABLE reservations (
        id uuid PRIMARY KEY,
        link_id integer NOT NULL REFERENCES links (id),
        bits integer NOT NULL CONSTRAINT reservations_bits_positive CHECK (bits > 0),
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT reservations_id_bits_unique UNIQUE (id, bits)
      )`);

    await queryRunner.query(`
      CREATE TABLE bit_ranges (
        reservation_id uuid NOT NULL REFERENCES reservations (id) ON DELETE CASCADE,
        ordinal integer NOT NULL CONSTRAINT bit_ranges_ordinal_natural CHECK (ordinal >= 0),
        block_id uuid NOT NULL,
        block_bits integer NOT NULL,
        bits int4range NOT NULL,
        PRIMARY KEY (reservation_id, ordinal),
        CONSTRAINT bit_ranges_block FOREIGN KEY (block_id, block_bits) REFERENCES blocks (id, bits) ON DELETE CASCADE,
        CONSTRAINT bit_ranges_not_empty CHECK (NOT isempty(bits)),
        CONSTRAINT bit_ranges_inside_block
          CHECK (NOT lower_inf(bits) AND NOT upper_inf(bits) AND lower(bits) >= 0 AND upper(bits) <= block_bits),
        CONSTRAINT bit_ranges_disjoint EXCLUDE USING gist (block_id WITH =, bits WITH &&)
      )`);

    await queryRunner.query(`
      CREATE TABLE keys (
        key_id uuid PRIMARY KEY,
        link_id integer NOT NULL REFERENCES links (id),
        master_sae_id text NOT NULL,
        size integer NOT NULL CONSTRAINT keys_size_positive CHECK (size > 0),
        reservation_id uuid NOT NULL,
        reservation_bits integer NOT NULL,
        reservation_offset integer NOT NULL,
        material_ciphertext bytea,
        material_wrapped_key bytea,
        material_kek_id integer,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        CONSTRAINT keys_reservation FOREIGN KEY (reservation_id, reservation_bits)
          REFERENCES reservations (id, bits),
        CONSTRAINT keys_inside_reservation
          CHECK (reservation_offset >= 0 AND reservation_offset + size <= reservation_bits),
        CONSTRAINT keys_disjoint EXCLUDE USING gist
          (reservation_id WITH =, int4range(reservation_offset, reservation_offset + size) WITH &&),
        CONSTRAINT keys_material_whole
          CHECK (num_nonnulls(material_ciphertext, material_wrapped_key, material_kek_id) IN (0, 3))
      )`);
    await queryRunner.query(`CREATE INDEX keys_expires_at ON keys (expires_at)`);
    await queryRunner.query(
      `CREATE INDEX keys_rewrap ON keys (material_kek_id) WHERE material_kek_id IS NOT NULL`,
    );

    await queryRunner.query(`
      CREATE TABLE key_slaves (
        key_id uuid NOT NULL REFERENCES keys (key_id) ON DELETE CASCADE,
        slave_id text NOT NULL,
        kind text NOT NULL CONSTRAINT key_slaves_kind_known CHECK (kind IN ('sae', 'kme')),
        delivered_at timestamptz,
        PRIMARY KEY (key_id, slave_id)
      )`);

    await queryRunner.query(`
      CREATE TABLE processed_messages (
        message_id text PRIMARY KEY,
        subject text NOT NULL,
        processed_at timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(
      `CREATE INDEX processed_messages_processed_at ON processed_messages (processed_at)`,
    );

    await queryRunner.query(`
      CREATE TABLE outbox_messages (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        subject text NOT NULL,
        msg_id text NOT NULL CONSTRAINT outbox_messages_msg_id_unique UNIQUE,
        payload bytea NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        published_at timestamptz
      )`);
    await queryRunner.query(
      `CREATE INDEX outbox_messages_pending ON outbox_messages (id) WHERE published_at IS NULL`,
    );

    await queryRunner.query(`
      CREATE TABLE audit_events (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        occurred_at timestamptz NOT NULL DEFAULT now(),
        event text NOT NULL CONSTRAINT audit_events_event_known CHECK (event IN (
          'block-stored', 'block-ready', 'block-burned', 'block-expired',
          'key-issued', 'key-delivered', 'key-expired')),
        link_id integer,
        block_ids uuid[] NOT NULL DEFAULT '{}',
        key_ids uuid[] NOT NULL DEFAULT '{}',
        sae_ids text[] NOT NULL DEFAULT '{}',
        bits bigint,
        reason text
      )`);
    // Append-only: an audit trail that the application could rewrite would prove nothing.
    await queryRunner.query(`
      CREATE FUNCTION audit_events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'audit_events is append-only';
      END
      $$`);
    await queryRunner.query(`
      CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
        FOR EACH ROW EXECUTE FUNCTION audit_events_refuse_change()`);
    await queryRunner.query(`
      CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
        FOR EACH STATEMENT EXECUTE FUNCTION audit_events_refuse_change()`);
  }

  // btree_gist stays installed on the way down: other schemas of the same database may rely on it.
  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE audit_events`);
    await queryRunner.query(`DROP FUNCTION audit_events_refuse_change()`);
    await queryRunner.query(`DROP TABLE outbox_messages`);
    await queryRunner.query(`DROP TABLE processed_messages`);
    await queryRunner.query(`DROP TABLE key_slaves`);
    await queryRunner.query(`DROP TABLE keys`);
    await queryRunner.query(`DROP TABLE bit_ranges`);
    await queryRunner.query(`DROP TABLE reservations`);
    await queryRunner.query(`DROP TABLE blocks`);
    await queryRunner.query(`DROP TABLE links`);
  }
}
