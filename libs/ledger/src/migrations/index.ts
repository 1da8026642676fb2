import { InitialLedger1767225600000 } from './1767225600000-initial-ledger';
import { KeyGroups1767312000000 } from './1767312000000-key-groups';
import { InboxPerSender1767398400000 } from './1767398400000-inbox-per-sender';
import { KeyGroupBitsZeroed1767484800000 } from './1767484800000-key-group-bits-zeroed';
import { BusStreams1767571200000 } from './1767571200000-bus-streams';
import { AuditRetention1767657600000 } from './1767657600000-audit-retention';
import { DeliveryClaims1767744000000 } from './1767744000000-delivery-claims';

/** Every ledger migration, oldest first. */
export const LEDGER_MIGRATIONS = [
  InitialLedger1767225600000,
  KeyGroups1767312000000,
  InboxPerSender1767398400000,
  KeyGroupBitsZeroed1767484800000,
  BusStreams1767571200000,
  AuditRetention1767657600000,
  DeliveryClaims1767744000000,
];
