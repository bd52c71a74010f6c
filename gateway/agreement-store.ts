/**
 * The node's own store for agreements, beside the ledger and never part of world state: a
 * LevelDB in `<dataDir>/agreements` with two sublevels.
 *
 *   watch         agreementId -> {status, deadline}   agreements the scheduler watches (non-final)
 *   meta          'watch-complete' -> ''             the watch list covers every agreement
 *   applications  sha256 digest -> StoredApplication  enforcement applications this node generated
 *
 * The watch list is a cache the scheduler re-reads from the chain on start; only its entries
 * matter, and an entry is written (synced) before the transaction that creates the agreement is
 * submitted, so a crash cannot lose one. A new (or lost) store is not `complete` until the
 * scheduler has rebuilt the list from the chain's `agreement:` keys. Applications are written synced before their digest goes
 * on chain: their bytes cannot be regenerated once the generator changes.
 */

import path from 'node:path';
import { Level } from 'level';
import type { AgreementStatus } from '../core/agreement';
import type { Digest } from '../core/digest';
import { LedgerError } from '../core/errors';
import { copyStore, type StoreCopy } from './storage/store-copy';
import { openTextStore, UTF8 } from './storage/text-store';

/** What the scheduler keeps per agreement: `pending` until the first commit was observed. */
export interface WatchEntry {
  readonly status: AgreementStatus | 'pending';
  /** Epoch milliseconds from which `checkDue` changes the agreement; `undefined` for none. */
  readonly deadline: number | undefined;
}

/** An enforcement application as deposited: the exact bytes and their rendering. */
export interface StoredApplication {
  readonly agreementId: string;
  /** sha256 first, then sm3. */
  readonly digests: readonly Digest[];
  readonly mediaType: string;
  /** The deposited bytes (canonical JSON, UTF-8). */
  readonly document: string;
  /** Human-readable rendering of the document (not deposited). */
  readonly text: string;
}

export interface AgreementStore {
  /**
   * Opens the database.
   * @throws LedgerError `LEDGER_UNAVAILABLE` when it cannot be opened (e.g. locked by another node).
   */
  open(): Promise<void>;
  /** Every watched agreement. */
  watched(): Promise<Map<string, WatchEntry>>;
  /** Records (or updates) a watched agreement; `sync` makes it durable before resolving. */
  watch(agreementId: string, entry: WatchEntry, sync: boolean): Promise<void>;
  unwatch(agreementId: string): Promise<void>;
  /** True once the watch list was rebuilt from the chain (or started with it). */
  watchComplete(): Promise<boolean>;
  markWatchComplete(): Promise<void>;
  /** Stores an application under its sha256 digest, durably. */
  putApplication(application: StoredApplication): Promise<void>;
  application(sha256: Digest): Promise<StoredApplication | undefined>;
  /**
   * Copies the store as of one snapshot into a new store at `location` (backups).
   * @throws LedgerError `LEDGER_CLOSED` when the store is not open.
   */
  copyTo(location: string): Promise<StoreCopy>;
  close(): Promise<void>;
}

interface StoredWatch {
  readonly status: AgreementStatus | 'pending';
  readonly deadline: string | null;
}

type Db = Level<string, string>;
type Sublevel = ReturnType<typeof sublevelOf>;

function sublevelOf(db: Db, name: string) {
  return db.sublevel<string, string>(name, UTF8);
}

interface Opened {
  readonly db: Db;
  readonly watch: Sublevel;
  readonly applications: Sublevel;
  readonly meta: Sublevel;
}

class AgreementStoreImpl implements AgreementStore {
  readonly #location: string;
  /** Created by open(): building an app touches no disk until it starts. */
  #opened: Opened | undefined;

  constructor(location: string) {
    this.#location = location;
  }

  get #db(): Db {
    return this.#open().db;
  }

  get #watch(): Sublevel {
    return this.#open().watch;
  }

  get #applications(): Sublevel {
    return this.#open().applications;
  }

  get #meta(): Sublevel {
    return this.#open().meta;
  }

  #open(): Opened {
    if (!this.#opened) throw new LedgerError('LEDGER_CLOSED', 'the agreement store is not open');
    return this.#opened;
  }

  async open(): Promise<void> {
    if (this.#opened) return;
    const db = await openTextStore(this.#location, 'agreement store');
    this.#opened = {
      db,
      watch: sublevelOf(db, 'watch'),
      applications: sublevelOf(db, 'applications'),
      meta: sublevelOf(db, 'meta'),
    };
  }

  async watched(): Promise<Map<string, WatchEntry>> {
    const entries = new Map<string, WatchEntry>();
    for await (const [key, value] of this.#watch.iterator()) {
      try {
        const stored = JSON.parse(value) as StoredWatch;
        const deadline = stored.deadline === null ? undefined : Date.parse(stored.deadline);
        entries.set(key, {
          status: stored.status,
          deadline: Number.isNaN(deadline) ? undefined : deadline,
        });
      } catch {
        // An unreadable entry is only a cache miss: the agreement is re-read from the chain.
        entries.set(key, { status: 'pending', deadline: undefined });
      }
    }
    return entries;
  }

  async watch(agreementId: string, entry: WatchEntry, sync: boolean): Promise<void> {
    const stored: StoredWatch = {
      status: entry.status,
      deadline: entry.deadline === undefined ? null : new Date(entry.deadline).toISOString(),
    };
    await this.#db.batch(
      [{ type: 'put', sublevel: this.#watch, key: agreementId, value: JSON.stringify(stored) }],
      { sync },
    );
  }

  async unwatch(agreementId: string): Promise<void> {
    await this.#watch.del(agreementId);
  }

  async watchComplete(): Promise<boolean> {
    return (await this.#meta.get('watch-complete')) !== undefined;
  }

  async markWatchComplete(): Promise<void> {
    await this.#db.batch(
      [{ type: 'put', sublevel: this.#meta, key: 'watch-complete', value: '' }],
      {
        sync: true,
      },
    );
  }

  async putApplication(application: StoredApplication): Promise<void> {
    const key = application.digests[0] as Digest;
    await this.#db.batch(
      [
        {
          type: 'put',
          sublevel: this.#applications,
          key,
          value: JSON.stringify(application),
        },
      ],
      { sync: true },
    );
  }

  async application(sha256: Digest): Promise<StoredApplication | undefined> {
    const raw = await this.#applications.get(sha256);
    return raw === undefined ? undefined : (JSON.parse(raw) as StoredApplication);
  }

  copyTo(location: string): Promise<StoreCopy> {
    return copyStore(this.#db, location);
  }

  async close(): Promise<void> {
    const opened = this.#opened;
    this.#opened = undefined;
    await opened?.db.close();
  }
}

/** The store in `<dataDir>/agreements` (opened by {@link AgreementStore.open}). */
export function createAgreementStore(dataDir: string): AgreementStore {
  return new AgreementStoreImpl(path.join(dataDir, 'agreements'));
}
