import { InitialLedger1767225600000 } from './1767225600000-initial-ledger';

/** Every ledger migration, oldest first. */
export const LEDGER_MIGRATIONS = [InitialLedger1767225600000];
