import { DataSource, EntityManager } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver.js';

import { Keyring } from './crypto/keyring';
import { MaterialCipher } from './crypto/material-cipher';
import { AuditTrail } from './store/audit-trail';
import { BlockStore } from './store/block-store';
import { BusStreams } from './store/bus-streams';
import { KEYS_RECORDED_CHANNEL, POOL_SHORT_CHANNEL } from './store/channels';
import { Inbox } from './store/inbox';
import { ScrubCounts, ScrubCursor, scrubKeyBits } from './store/key-bits';
import { KeyStore } from './store/key-store';
import { LinkStore, type LinkIdCache } from './store/link-store';
import { Outbox } from './store/outbox';
import { ReapCounts, reapExpired, ReapOptions } from './store/reaper';
import { ReservationStore } from './store/reservation-store';
import { RewrapCounts, rewrapAll } from './store/rewrap';

/** Every store of the ledger, bound to one EntityManager: the pool, or one transaction. */
export class LedgerScope {
  readonly links: LinkStore;
  readonly blocks: BlockStore;
  readonly reservations: ReservationStore;
  readonly keys: KeyStore;
  readonly outbox: Outbox;
  readonly inbox: Inbox;
  readonly audit: AuditTrail;
  readonly busStreams: BusStreams;

  constructor(
    readonly manager: EntityManager,
    protected readonly cipher: MaterialCipher,
    protected readonly linkIds: LinkIdCache,
  ) {
    this.links = new LinkStore(manager, linkIds);
    this.blocks = new BlockStore(manager, cipher);
    this.reservations = new ReservationStore(manager);
    this.keys = new KeyStore(manager, cipher);
    this.outbox = new Outbox(manager);
    this.inbox = new Inbox(manager);
    this.audit = new AuditTrail(manager);
    this.busStreams = new BusStreams(manager);
  }
}

/** How long after a lost LISTEN connection a new one is made. */
const RELISTEN_MS = 1_000;

/** The driver's client, as a connection of its own uses it. */
interface OwnConnection {
  query(sql: string, values?: unknown[]): Promise<{ rows: unknown[] }>;
  on(event: 'error' | 'notification' | 'end', listener: (value: unknown) => void): void;
  off(event: 'error' | 'notification' | 'end', listener: (value: unknown) => void): void;
}

export type ProcessOnceResult<T> =
  { readonly processed: true; readonly value: T } | { readonly processed: false };

/** The key ledger of one site. */
export class Ledger extends LedgerScope {
  constructor(
    readonly dataSource: DataSource,
    keyring: Keyring,
    private readonly release: () => Promise<void> = async () => undefined,
  ) {
    super(dataSource.manager, new MaterialCipher(keyring), new Map());
  }

  /** Runs `work` in one transaction; everything it does through the scope commits or rolls back together. */
  transaction<T>(work: (scope: LedgerScope) => Promise<T>): Promise<T> {
    return this.dataSource.transaction((manager) =>
      work(new LedgerScope(manager, this.cipher, this.linkIds)),
    );
  }

  /**
   * Applies a message at most once: `work` runs in the same transaction that records the message ID, so a
   * redelivery (even a concurrent one) is a no-op, and a failure leaves the message unrecorded for a retry.
   */
  processOnce<T>(
    messageId: string,
    subject: string,
    work: (scope: LedgerScope) => Promise<T>,
  ): Promise<ProcessOnceResult<T>> {
    return this.transaction(async (scope) => {
      if (!(await scope.inbox.claim(messageId, subject))) {
        return { processed: false };
      }
      return { processed: true, value: await work(scope) };
    });
  }

  /**
   * Runs `work` while this process holds the site-wide lock `name`, or, when another process or handler
   * holds it, answers `{ ran: false }` without running it. For work that must not run twice at once on any
   * replica of the site but cannot sit in one transaction because it waits on the network: the lock is a
   * Postgres session-level advisory lock on a pooled connection of its own (no transaction stays open), held
   * while `work` runs on other connections. So each caller at once takes two of the pool's connections at
   * its peak: size the pool above twice the callers. A connection whose unlock fails is closed, not pooled,
   * and the server ends the session of a process that died within about a minute (its TCP keepalives are set
   * here), so the lock never outlives its holder for long.
   */
  async exclusively<T>(
    name: string,
    work: () => Promise<T>,
  ): Promise<{ readonly ran: true; readonly value: T } | { readonly ran: false }> {
    const { connection, release } = await this.connectionOfItsOwn();
    const key = [name];
    let locked = false;
    try {
      const { rows } = await connection.query(
        `SELECT set_config('tcp_keepalives_idle', '30', false),
           set_config('tcp_keepalives_interval', '10', false), set_config('tcp_keepalives_count', '3', false),
           pg_try_advisory_lock(hashtextextended($1, 0)) AS locked`,
        key,
      );
      locked = (rows[0] as { locked: boolean }).locked;
      return locked ? { ran: true, value: await work() } : { ran: false };
    } finally {
      const unlockError = locked
        ? await connection.query(`SELECT pg_advisory_unlock(hashtextextended($1, 0))`, key).then(
            () => undefined,
            (error: unknown) => error ?? new Error('unlock failed'),
          )
        : undefined;
      // Given an error, the pool closes the connection, and the session's lock goes with it.
      release(unlockError);
    }
  }

  /**
   * Calls `listener` whenever a transaction that applied a key assignment commits at this site (Postgres
   * LISTEN on a connection of its own; NOTIFY is delivered at commit, to every process of the site). A hint,
   * not a guarantee: notifications sent while the connection is lost and made again are missed, so callers
   * also look again on a timer; the listener is called once the connection is back. Answers the function
   * that stops listening.
   */
  onKeysRecorded(listener: () => void): Promise<() => Promise<void>> {
    return this.listen(KEYS_RECORDED_CHANNEL, () => listener());
  }

  /**
   * Tells the site's key-generators that the pool of link `linkId` could not cover a request of `bits`, so
   * that they fill it beyond that even while it is above its low watermark. A hint (NOTIFY): the gateway says
   * it again on each try while its request waits.
   */
  async announceShortage(linkId: number, bits: number): Promise<void> {
    await this.dataSource.query('SELECT pg_notify($1, $2)', [POOL_SHORT_CHANNEL, `${linkId}:${bits}`]);
  }

  /** Calls `listener` for each shortage a gateway of the site announces (see announceShortage, onKeysRecorded). */
  onShortage(listener: (linkId: number, bits: number) => void): Promise<() => Promise<void>> {
    return this.listen(POOL_SHORT_CHANNEL, (payload) => {
      const shortage = /^(\d{1,15}):(\d{1,15})$/.exec(payload);
      if (shortage) listener(Number(shortage[1]), Number(shortage[2]));
    });
  }

  /**
   * LISTENs to `channel` on a connection of its own, and on a new one RELISTEN_MS after that one is lost (a
   * Postgres restart, a terminated backend); once listening again, it calls `listener` with an empty payload,
   * since notifications sent meanwhile were missed. Answers the function that stops listening.
   */
  private async listen(channel: string, listener: (payload: string) => void): Promise<() => Promise<void>> {
    let current: { readonly release: () => Promise<void> } | undefined;
    let stopped = false;
    let retry: NodeJS.Timeout | undefined;
    const again = () => {
      if (stopped) return;
      retry = setTimeout(() => {
        open()
          .then(() => listener(''))
          .catch(again);
      }, RELISTEN_MS);
      retry.unref();
    };
    const open = async () => {
      const own = await this.connectionOfItsOwn();
      let gone = false;
      const heard = (message: unknown) => {
        const { channel: from, payload } = message as { channel?: string; payload?: string };
        if (from === channel) listener(payload ?? '');
      };
      const detach = () => {
        own.connection.off('notification', heard);
        own.connection.off('error', lost);
        own.connection.off('end', ended);
      };
      // Lost while listening: given back to the pool to close, and listened to again on a new connection.
      // Lost while still opening: open() sees `gone` and fails.
      function lost(error?: unknown) {
        if (gone) return;
        gone = true;
        if (current !== handle) return;
        current = undefined;
        detach();
        own.release(error ?? new Error(`the connection listening to ${channel} ended`));
        again();
      }
      const ended = () => lost();
      const handle = {
        release: async () => {
          await own.connection.query(`UNLISTEN ${channel}`).catch(() => undefined);
          detach();
          own.release();
        },
      };
      own.connection.on('notification', heard);
      own.connection.on('error', lost);
      own.connection.on('end', ended);
      try {
        await own.connection.query(`LISTEN ${channel}`);
        if (gone) throw new Error(`the connection listening to ${channel} was lost`);
      } catch (error) {
        detach();
        own.release(error);
        throw error;
      }
      if (stopped) await handle.release();
      else current = handle;
    };
    await open();
    return async () => {
      stopped = true;
      clearTimeout(retry);
      const handle = current;
      current = undefined;
      await handle?.release();
    };
  }

  /**
   * A pooled connection held outside any transaction (a lock, a LISTEN). While it is out, the pool no longer
   * listens for its errors, and an unheard one (the connection lost) would end the process: they are heard
   * here until `release`, which given an error has the pool close the connection rather than keep it.
   */
  private async connectionOfItsOwn(): Promise<{
    connection: OwnConnection;
    release: (error?: unknown) => void;
  }> {
    const [client, release] = await (this.dataSource.driver as PostgresDriver).obtainMasterConnection();
    const connection = client as OwnConnection;
    const ignore = () => undefined;
    connection.on('error', ignore);
    return {
      connection,
      release: (error) => {
        (release as (error?: unknown) => void)(error);
        if (error === undefined) connection.off('error', ignore);
      },
    };
  }

  /** Resolves when the database answers now (readiness probes). */
  async ping(): Promise<void> {
    await this.dataSource.query('SELECT 1');
  }

  reapExpired(options: ReapOptions): Promise<ReapCounts> {
    return reapExpired(this.manager, options);
  }

  /** Zeroes the bits of up to `limit` key groups in this site's copies of their blocks; see scrubKeyBits. */
  scrubKeyBits(limit: number, after?: ScrubCursor): Promise<ScrubCounts> {
    return scrubKeyBits(this.manager, this.blocks, limit, after);
  }

  /** Moves every data key onto the newest KEK version of the keyring; see rewrapAll. */
  rewrap(batchSize?: number): Promise<RewrapCounts> {
    return rewrapAll(this.manager, this.cipher, batchSize);
  }

  async close(): Promise<void> {
    if (this.dataSource.isInitialized) {
      await this.dataSource.destroy();
    }
    await this.release();
  }
}
