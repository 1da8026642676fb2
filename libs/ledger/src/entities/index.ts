import { AuditEventEntity } from './audit-event.entity';
import { BitRangeEntity } from './bit-range.entity';
import { BlockEntity } from './block.entity';
import { BusStreamEntity } from './bus-stream.entity';
import { KeyGroupEntity } from './key-group.entity';
import { KeySlaveEntity } from './key-slave.entity';
import { KeyEntity } from './key.entity';
import { LinkEntity } from './link.entity';
import { OutboxMessageEntity } from './outbox-message.entity';
import { ProcessedMessageEntity } from './processed-message.entity';
import { ReservationEntity } from './reservation.entity';

export {
  AuditEventEntity,
  BitRangeEntity,
  BlockEntity,
  BusStreamEntity,
  KeyEntity,
  KeyGroupEntity,
  KeySlaveEntity,
  LinkEntity,
  OutboxMessageEntity,
  ProcessedMessageEntity,
  ReservationEntity,
};

/** Every table of the ledger schema; the schema itself comes only from LEDGER_MIGRATIONS. */
export const LEDGER_ENTITIES = [
  LinkEntity,
  BlockEntity,
  ReservationEntity,
  BitRangeEntity,
  KeyGroupEntity,
  KeyEntity,
  KeySlaveEntity,
  ProcessedMessageEntity,
  OutboxMessageEntity,
  AuditEventEntity,
  BusStreamEntity,
];
