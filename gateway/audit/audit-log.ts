/**
 * The audit log's store: a hash-chained, append-only log of requests in its own LevelDB database
 * under the data directory (`<dataDir>/audit`), separate from the ledger and never on chain
 * (core/audit.ts has the entry format and the chain rules).
 *
 * Appends are asynchronous and batched, so recording a request costs a deposit nothing but an
 * array push: `append()` queues the event; a writer takes everything queued, chains it in order
 * and writes it with one synced LevelDB batch (plus the new head), at most one batch in flight.
 * When the queue is full (the disk stalls), events are counted instead and a `gap` entry records
 * how many were lost. A failed write (disk full) keeps the events queued, reopens the store (a
 * LevelDB log that failed a write must not be appended to again) and retries with back-off.
 *
 * Retention: entries older than `retentionDays` are deleted oldest first; the last deleted
 * entry's sequence number and hash become the new anchor, written in the same batch, so the
 * remaining chain still verifies from it.
 */

import * as path from 'node:path';
import {
  AUDIT_ENTRIES,
  AUDIT_META,
  AUDIT_STORE_DIR,
  AuditChainChecker,
  GENESIS_ANCHOR,
  auditKey,
  chainAuditEntry,
  type AuditAnchor,
  type AuditEntry,
  type AuditEvent,
  type AuditVerification,
} from '../../core/audit';
import { Reopener } from '../storage/reopener';
import { copyStore, type StoreCopy } from '../storage/store-copy';
import { openTextStore, UTF8, type TextStore } from '../storage/text-store';

export interface AuditLog {
  /** Queues an event; never throws, never waits. */
  append(event: Omit<AuditEvent, 'time'> & { time?: string }): void;
  /** Resolves once everything appended so far is stored (or could not be). */
  flush(): Promise<void>;
  /** Entries from sequence number `from` on, at most `limit`, oldest first. */
  read(from: number, limit: number): Promise<AuditEntry[]>;
  /** Checks the whole retained chain from the anchor. */
  verify(): Promise<AuditVerification>;
  /** Deletes entries older than the retention period; returns how many. */
  prune(now?: Date): Promise<number>;
  /** The last stored entry (or the anchor) and the anchor. */
  status(): Promise<{ head: AuditAnchor; anchor: AuditAnchor; waiting: number; dropped: number }>;
  /**
   * Stores what is queued, then copies the log as of one snapshot into a new store at `location`
   * (backups, gateway/backup.ts). `signal` abandons the copy between chunks (`LEDGER_CLOSED`).
   */
  copyTo(location: string, options?: { readonly signal?: AbortSignal }): Promise<StoreCopy>;
  close(): Promise<void>;
}

export interface AuditLogOptions {
  /** The node's data directory; the store is `<dataDir>/audit`. */
  readonly dataDir: string;
  readonly retentionDays: number;
  /** Events allowed to wait; beyond, they are counted in a `gap` entry. Default 100,000. */
  readonly maxQueued?: number;
  /** Clock, for tests. */
  readonly now?: () => Date;
  /** Where write failures are reported (they never reach a request). */
  readonly onError?: (error: unknown) => void;
}

const DAY_MS = 86_400_000;
/** Entries per write batch. */
const BATCH_MAX = 5_000;
/** How long the writer lets events gather before a write (ms). */
const GATHER_MS = 5;
const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 10_000;
const PRUNE_EVERY_MS = 6 * 3_600_000;
const PRUNE_CHUNK = 10_000;

type Db = TextStore;

class AuditLogImpl implements AuditLog {
  readonly #db: Db;
  readonly #entries;
  readonly #meta;
  readonly #retentionMs: number;
  readonly #maxQueued: number;
  readonly #now: () => Date;
  readonly #onError: (error: unknown) => void;
  #head: AuditAnchor;
  #anchor: AuditAnchor;
  #queue: AuditEvent[] = [];
  #dropped = 0;
  #writing: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #pruneTimer: NodeJS.Timeout | undefined;
  #failures = 0;
  readonly #reopener: Reopener;
  #lock: Promise<unknown> = Promise.resolve();
  #closed = false;
  #waiters: Array<() => void> = [];

  constructor(db: Db, head: AuditAnchor, anchor: AuditAnchor, options: AuditLogOptions) {
    this.#db = db;
    this.#entries = db.sublevel<string, string>(AUDIT_ENTRIES, UTF8);
    this.#meta = db.sublevel<string, string>(AUDIT_META, UTF8);
    this.#reopener = new Reopener(db, [this.#entries, this.#meta]);
    this.#head = head;
    this.#anchor = anchor;
    this.#retentionMs = options.retentionDays * DAY_MS;
    this.#maxQueued = options.maxQueued ?? 100_000;
    this.#now = options.now ?? (() => new Date());
    this.#onError = options.onError ?? (() => undefined);
    this.#pruneTimer = setInterval(() => {
      this.prune().catch((error: unknown) => this.#onError(error));
    }, PRUNE_EVERY_MS);
    this.#pruneTimer.unref();
  }

  append(event: Omit<AuditEvent, 'time'> & { time?: string }): void {
    if (this.#closed) return;
    if (this.#queue.length >= this.#maxQueued) {
      this.#dropped += 1;
      return;
    }
    this.#queue.push({ ...event, time: event.time ?? this.#now().toISOString() } as AuditEvent);
    this.#schedule(GATHER_MS);
  }

  flush(): Promise<void> {
    if (this.#queue.length === 0 && this.#dropped === 0 && !this.#writing) return Promise.resolve();
    return new Promise((resolve) => {
      this.#waiters.push(resolve);
      this.#schedule(0);
    });
  }

  async read(from: number, limit: number): Promise<AuditEntry[]> {
    await this.#ready();
    const entries: AuditEntry[] = [];
    for await (const value of this.#entries.values({
      gte: auditKey(Math.max(from, 0)),
      limit,
    })) {
      entries.push(JSON.parse(value) as AuditEntry);
    }
    return entries;
  }

  verify(): Promise<AuditVerification> {
    return this.#exclusive(async () => {
      await this.#ready();
      // Head first: entries up to it are complete (each batch writes its entries and the head
      // together); entries appended meanwhile are past it and not checked this time.
      const rawHead = await this.#meta.get('head');
      const head = rawHead === undefined ? undefined : (JSON.parse(rawHead) as AuditAnchor);
      const checker = new AuditChainChecker(await this.#storedAnchor());
      const range = head === undefined ? {} : { lte: auditKey(Math.max(head.seq, 0)) };
      for await (const [key, value] of this.#entries.iterator(range)) {
        if (!checker.add(key, value)) break;
      }
      return checker.result(head);
    });
  }

  prune(now: Date = this.#now()): Promise<number> {
    return this.#exclusive(() => this.#prune(now));
  }

  async #prune(now: Date): Promise<number> {
    const cutoff = new Date(now.getTime() - this.#retentionMs).toISOString();
    let pruned = 0;
    for (;;) {
      await this.#ready();
      const doomed: AuditEntry[] = [];
      for await (const value of this.#entries.values({ limit: PRUNE_CHUNK })) {
        const entry = JSON.parse(value) as AuditEntry;
        if (entry.time >= cutoff) break;
        doomed.push(entry);
      }
      const last = doomed[doomed.length - 1];
      if (!last) return pruned;
      const anchor: AuditAnchor = { seq: last.seq, hash: last.hash };
      const operations = [
        ...doomed.map((entry) => ({
          type: 'del' as const,
          sublevel: this.#entries,
          key: auditKey(entry.seq),
        })),
        {
          type: 'put' as const,
          sublevel: this.#meta,
          key: 'anchor',
          value: JSON.stringify(anchor),
        },
      ];
      await this.#db.batch(operations as never, { sync: true });
      this.#anchor = anchor;
      pruned += doomed.length;
      if (doomed.length < PRUNE_CHUNK) return pruned;
    }
  }

  async status(): Promise<{
    head: AuditAnchor;
    anchor: AuditAnchor;
    waiting: number;
    dropped: number;
  }> {
    return {
      head: this.#head,
      anchor: this.#anchor,
      waiting: this.#queue.length,
      dropped: this.#dropped,
    };
  }

  async copyTo(location: string, options?: { readonly signal?: AbortSignal }): Promise<StoreCopy> {
    await this.flush();
    return copyStore(this.#db, location, options);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    await this.flush();
    this.#closed = true;
    clearInterval(this.#pruneTimer);
    if (this.#timer) clearTimeout(this.#timer);
    await this.#writing?.catch(() => undefined);
    await this.#lock.catch(() => undefined);
    const lost = this.#queue.length + this.#dropped;
    if (lost > 0) this.#onError(new Error(`${lost} audit events could not be stored before close`));
    await this.#db.close().catch((error: unknown) => this.#onError(error));
  }

  /** Runs `work` after every earlier verify or prune (they must not interleave). */
  #exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(work, work);
    this.#lock = run.catch(() => undefined);
    return run;
  }

  async #storedAnchor(): Promise<AuditAnchor> {
    const raw = await this.#meta.get('anchor');
    return raw === undefined ? GENESIS_ANCHOR : (JSON.parse(raw) as AuditAnchor);
  }

  /** Reopens the store after a failed write, before anything else touches it (storage/reopener.ts). */
  #ready(): Promise<void> {
    return this.#reopener.ready();
  }

  #schedule(delayMs: number): void {
    if (this.#writing || this.#closed) return;
    if (this.#timer) {
      if (delayMs > 0) return;
      clearTimeout(this.#timer);
    }
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#writing = this.#write().finally(() => {
        this.#writing = undefined;
        const pending = this.#queue.length > 0 || this.#dropped > 0;
        // A flush waits for the queue to drain, or for a failed attempt (it must not hang on a
        // full disk; the events stay queued and are retried).
        if (!pending || this.#failures > 0)
          for (const resolve of this.#waiters.splice(0)) resolve();
        if (pending) this.#schedule(this.#failures > 0 ? this.#backoff() : 0);
      });
    }, delayMs);
  }

  #backoff(): number {
    return Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** Math.min(this.#failures - 1, 10));
  }

  async #write(): Promise<void> {
    const events = this.#queue.slice(0, BATCH_MAX);
    // Events were dropped after everything queued: the gap follows the last queued event.
    const dropped = events.length === this.#queue.length ? this.#dropped : 0;
    if (dropped > 0) events.push({ type: 'gap', time: this.#now().toISOString(), dropped });
    if (events.length === 0) return;
    let previous = this.#head;
    const entries = events.map((event) => {
      const entry = chainAuditEntry(event, previous);
      previous = { seq: entry.seq, hash: entry.hash };
      return entry;
    });
    try {
      await this.#ready();
      // One chained batch with the sublevels' prefixes applied here, as the ledger writes its
      // blocks: much cheaper per entry than array operations naming their sublevel.
      const batch = this.#db.batch();
      for (const entry of entries) {
        batch.put(this.#entries.prefixKey(auditKey(entry.seq), 'utf8'), JSON.stringify(entry));
      }
      batch.put(this.#meta.prefixKey('head', 'utf8'), JSON.stringify(previous));
      await batch.write({ sync: true });
    } catch (error) {
      this.#failures += 1;
      this.#reopener.markFailed();
      this.#onError(error);
      // Nothing was taken from the queue: the same events are chained again on the next try.
      return;
    }
    this.#failures = 0;
    this.#head = previous;
    this.#queue.splice(0, events.length - (dropped > 0 ? 1 : 0));
    this.#dropped -= dropped;
  }
}

/**
 * Opens (or creates) the audit log in `<dataDir>/audit` and prunes what retention allows.
 * @throws LedgerError `LEDGER_UNAVAILABLE` when the store cannot be opened (e.g. locked).
 */
export async function openAuditLog(options: AuditLogOptions): Promise<AuditLog> {
  const db = await openTextStore(path.join(options.dataDir, AUDIT_STORE_DIR), 'audit log');
  try {
    const meta = db.sublevel<string, string>(AUDIT_META, UTF8);
    const rawAnchor = await meta.get('anchor');
    const anchor =
      rawAnchor === undefined ? GENESIS_ANCHOR : (JSON.parse(rawAnchor) as AuditAnchor);
    const rawHead = await meta.get('head');
    const head = rawHead === undefined ? anchor : (JSON.parse(rawHead) as AuditAnchor);
    const log = new AuditLogImpl(db, head, anchor, options);
    await log.prune();
    return log;
  } catch (error) {
    await db.close().catch(() => undefined);
    throw error;
  }
}
