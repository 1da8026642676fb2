import { InitialLedger1767225600000 } from './1767225600000-initial-ledger';
import { KeyGroups1767312000000 } from './1767312000000-key-groups';

/** Every ledger migration, oldest first. */
export const LEDGER_MIGRATIONS = [InitialLedger1767225600000, KeyGroups1767312000000];
