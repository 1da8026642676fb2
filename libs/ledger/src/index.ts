export { concatBits, sliceBits } from './bits';
export { ensureKekFile } from './crypto/kek-file';
export { type Kek, KEK_BYTES, Keyring, keyringFromEnv } from './crypto/keyring';
export {
  MaterialCipher,
  type MaterialRow,
  type MaterialTable,
  type SealedMaterial,
  type StoredMaterial,
} from './crypto/material-cipher';
export {
  createLedgerDataSource,
  type LedgerDataSourceOptions,
  revertLastMigration,
  runMigrations,
} from './data-source';
export { preparePostgresBinaries } from './embedded/binaries';
export {
  type EmbeddedPostgres,
  type EmbeddedPostgresOptions,
  startEmbeddedPostgres,
} from './embedded/embedded-postgres';
export {
  AuditEventEntity,
  BitRangeEntity,
  BlockEntity,
  BusStreamEntity,
  KeyEntity,
  KeyGroupEntity,
  KeySlaveEntity,
  LEDGER_ENTITIES,
  LinkEntity,
  OutboxMessageEntity,
  ProcessedMessageEntity,
  ReservationEntity,
} from './entities';
export {
  EmbeddedPostgresError,
  LedgerConfigError,
  LedgerConflictError,
  type LedgerConflictReason,
  MaterialIntegrityError,
} from './errors';
export { Ledger, LedgerScope, type ProcessOnceResult } from './ledger';
export { KEYS_RECORDED_CHANNEL } from './store/channels';
export { LEDGER_MIGRATIONS } from './migrations';
export { LEDGER_READINESS, LEDGER_STREAM_REGISTER, LedgerModule } from './nest/ledger.module';
export { openLedger, type OpenLedgerOptions } from './open-ledger';
export { segmentsAt } from './segments';
export { applyAssignment, type ApplyAssignmentResult, type KeyAssignment } from './store/assignment';
export { HeldReservations } from './store/held-reservations';
export {
  AUDIT_FLOOR_DAYS,
  type AuditEvent,
  type AuditEventKind,
  AuditTrail,
  type StoredAuditEvent,
} from './store/audit-trail';
export {
  BlockStore,
  LEASE_MARGIN_MS,
  rejectedBurnReason,
  UNCONFIRMED_BURN_REASON,
  type LinkAnswer,
  type NewBlock,
} from './store/block-store';
export { BusStreams } from './store/bus-streams';
export { Inbox } from './store/inbox';
export { type ScrubCounts, type ScrubCursor } from './store/key-bits';
export {
  CLAIM_LEASE_MS,
  type ClaimResult,
  type DeliverableKey,
  type DeliveryClaim,
  type DeliveryRefusal,
  deliveryRefusal,
  type DeliveryResult,
  type HeldClaim,
  KeyStore,
  type Settled,
} from './store/key-store';
export { LinkStore } from './store/link-store';
export { Outbox, type OutboxMessage, type SentRecord } from './store/outbox';
export type { ReapCounts, ReapOptions } from './store/reaper';
export { ReservationStore, type ReserveResult } from './store/reservation-store';
export type { RewrapCounts } from './store/rewrap';
export type * from './store/types';
