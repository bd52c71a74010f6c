/**
 * Online backups: a copy of everything the node keeps, taken while it serves deposits, that a new
 * node starts from as its data directory.
 *
 * One backup is one folder under the configured backup directory (`EVIDENCE_BACKUP_DIR`), named by
 * its start time, laid out as a data directory:
 *
 *   node-key.pem   the embedded ledger's signing key (mode 0600); a replica's backup holds
 *                  replica-trust.json instead, the trust file its blocks were checked with
 *   ledger/        the ledger store, as of one snapshot
 *   agreements/    the agreement store      anchoring/  the anchor store (when anchoring runs)
 *   audit/         the audit log            keys.json   the API keys file (hashes, not keys)
 *   backup.json    the manifest, written last
 *
 * Each store is copied from a LevelDB snapshot (gateway/storage/store-copy.ts), so each is a state
 * it really was in. The ledger is copied first and its copy opened and verified block by block
 * before anything else is copied; the other stores are copied after it, so they are never older
 * than the ledger they describe (an agreement the scheduler watches is on the copied chain or
 * later, an audit entry may name a deposit made during the backup). The folder is written as
 * `<id>.partial` and renamed once the manifest is synced: a folder without that suffix is whole.
 *
 * With `intervalMs`, the node takes a backup itself that long after the last completed one (at
 * once on start when the folder's newest is older), and again after a failure, sooner. With
 * `keep`, only that many completed backups stay in the folder: older ones are deleted after each
 * backup completes. Partial folders a crash left behind are deleted on start.
 *
 * Restoring is starting a node with the folder as its data directory (docs/operations.md).
 */

import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { isEvidenceError, LedgerError, StateError, type ErrorCode } from '../core/errors';
import type { Ledger, LedgerBackup } from './ledger/ledger';
import type { BackupMetrics } from './metrics';
import type { DossierBackups, DossierBackupsNotConfigured } from '../core/dossier';
import type { StoreCopy } from './storage/store-copy';
import { syncDirectory, writeSynced } from './storage/durable-files';
import { REPLICA_TRUST_FILE } from './ledger/embedded-ledger';

/** The stores besides the ledger, each copied into a new store at `location`. */
export interface BackupSources {
  readonly ledger: Ledger;
  readonly agreements: { copyStore(location: string): Promise<StoreCopy> };
  /** `undefined` when there is no anchor store (no anchoring target). */
  readonly anchoring: { copyStore(location: string): Promise<StoreCopy | undefined> };
  /** Absent when the node keeps no audit log. */
  readonly audit?: {
    copyTo(location: string, options?: { readonly signal?: AbortSignal }): Promise<StoreCopy>;
  };
  /** The API keys file (`EVIDENCE_KEYS_FILE`); copied as `keys.json`. */
  readonly keysFile: string;
  /**
   * Small files of the data directory copied as they are when present: on a replica, the most
   * blocks its source ever said it held (replica/follower.ts), which a promotion from the backup
   * checks.
   */
  readonly extraFiles?: readonly string[];
}

export interface BackupServiceOptions {
  /** The backup directory; `undefined`: backups are refused with `BACKUP_NOT_CONFIGURED`. */
  readonly dir: string | undefined;
  readonly sources: BackupSources;
  /** Epoch milliseconds (tests). */
  readonly clock?: () => number;
  /**
   * Told of a backup that failed, or (id `undefined`) of a backup directory that could not be
   * read at start; the node logs both.
   */
  readonly onError?: (error: unknown, id: string | undefined) => void;
  /** Where outcomes, durations and the last backup's time are reported. */
  readonly metrics?: BackupMetrics;
  /** Told of every backup that finished, completed or failed, with its final view (the node audits it). */
  readonly onFinished?: (view: BackupView) => void;
  /** Take a backup this long after the last completed one (ms; 0 or absent: only when asked). */
  readonly intervalMs?: number;
  /** Completed backups kept in the folder (0 or absent: all). */
  readonly keep?: number;
}

export type BackupState = 'running' | 'completed' | 'failed';

/** The ledger part of a backup: what the copy holds and what checking it found. */
export interface BackupLedger extends LedgerBackup {
  readonly kind: 'embedded';
}

/** A backup as the API shows it; a completed one is its manifest (`backup.json`). */
export interface BackupView {
  readonly id: string;
  readonly state: BackupState;
  readonly startedAt: string;
  /** When it completed or failed; `null` while it runs. */
  readonly finishedAt: string | null;
  readonly chainId: string;
  /** `null` while running, after a failure, or when the ledger is not the node's (Fabric). */
  readonly ledger: BackupLedger | null;
  /** The other stores copied, by name. */
  readonly stores: Readonly<Record<string, StoreCopy>>;
  /** Plain files copied, by name in the backup. */
  readonly files: readonly string[];
  /** Why it failed; `null` otherwise. */
  readonly error: { readonly code: ErrorCode; readonly message: string } | null;
}

/** The manifest of a completed backup, as written in `backup.json`. */
export interface BackupManifest extends BackupView {
  readonly type: 'evidence-node-backup';
  readonly version: 1;
}

export interface BackupService {
  /**
   * Starts: deletes partial folders left by a crash, reports the folder's last completed backup
   * to the metrics, and schedules the next backup when `intervalMs` is set (the node calls it on
   * start). Never throws: a folder it cannot read is reported to `onError`.
   */
  open(): Promise<void>;
  /**
   * Starts a backup and returns it, running; it goes on in the background.
   * @throws StateError `BACKUP_NOT_CONFIGURED` without a backup directory, `BACKUP_RUNNING` while
   *   another runs, `LEDGER_CLOSED` once closing.
   */
  start(): BackupView;
  /** The backup being taken, or `undefined`. */
  running(): BackupView | undefined;
  /** Every backup of the directory and of this run of the node, newest first. */
  list(): Promise<BackupView[]>;
  /** One backup by id, or `undefined`. */
  get(id: string): Promise<BackupView | undefined>;
  /** The policy and the last completed backup, for the compliance dossier. */
  dossier(): Promise<DossierBackups | DossierBackupsNotConfigured>;
  /** Stops taking backups; resolves once a running one has finished. */
  close(): Promise<void>;
}

/** Backup ids: the start time, UTC, to the millisecond (`20261128T213501123Z`). */
export const BACKUP_ID_PATTERN = '^[0-9]{8}T[0-9]{9}Z$';
const BACKUP_ID = new RegExp(BACKUP_ID_PATTERN);
const PARTIAL = '.partial';
const MANIFEST = 'backup.json';
/** Failed backups remembered for the API (their folders are removed). */
const FAILURES_KEPT = 20;
/** After a failed scheduled backup, the next try comes after at most this long. */
const RETRY_MAX_MS = 300_000;

function idOf(time: number): string {
  return new Date(time).toISOString().replace(/[-:.]/g, '');
}

function isManifest(value: unknown, id: string): value is BackupManifest {
  const manifest = value as Partial<BackupManifest> | null;
  return (
    typeof manifest === 'object' &&
    manifest !== null &&
    manifest.type === 'evidence-node-backup' &&
    manifest.version === 1 &&
    manifest.id === id &&
    manifest.state === 'completed'
  );
}

class BackupServiceImpl implements BackupService {
  readonly #dir: string | undefined;
  readonly #sources: BackupSources;
  readonly #clock: () => number;
  readonly #onError: (error: unknown, id: string | undefined) => void;
  readonly #metrics: BackupMetrics | undefined;
  readonly #onFinished: (view: BackupView) => void;
  readonly #intervalMs: number;
  readonly #keep: number;
  #timer: NodeJS.Timeout | undefined;
  #running: { view: BackupView; done: Promise<void> } | undefined;
  /** Deleting backups past `keep`, after each completed one; one at a time, never failing. */
  #pruning: Promise<void> = Promise.resolve();
  /** Aborted when the service closes: the copies that can be abandoned are. */
  readonly #stopping = new AbortController();
  #failed: BackupView[] = [];
  #lastId = '';
  #closed = false;

  constructor(options: BackupServiceOptions) {
    this.#dir = options.dir;
    this.#sources = options.sources;
    this.#clock = options.clock ?? Date.now;
    this.#onError = options.onError ?? (() => undefined);
    this.#metrics = options.metrics;
    this.#onFinished = options.onFinished ?? (() => undefined);
    this.#intervalMs = options.intervalMs ?? 0;
    this.#keep = options.keep ?? 0;
  }

  async open(): Promise<void> {
    let lastAt: number | undefined;
    try {
      await this.#removePartials();
      const listed = await this.list();
      // Ids are start times: a clock set back must not reuse the id of a backup in the folder.
      if (listed[0] && listed[0].id > this.#lastId) this.#lastId = listed[0].id;
      const last = listed.find((view) => view.state === 'completed');
      const at = Date.parse(last?.finishedAt ?? '');
      if (!Number.isNaN(at)) {
        lastAt = at;
        this.#metrics?.completedBefore(at);
      }
    } catch (error) {
      // An unreadable folder does not stop the node; taking a backup will say what is wrong.
      this.#onError(error, undefined);
    }
    if (this.#intervalMs > 0 && this.#dir !== undefined) {
      this.#schedule(lastAt === undefined ? 0 : lastAt + this.#intervalMs - this.#clock());
    }
  }

  /** The next scheduled backup in `delayMs` (at once when negative). */
  #schedule(delayMs: number): void {
    if (this.#closed) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#scheduled(), Math.max(0, delayMs));
    this.#timer.unref();
  }

  #scheduled(): void {
    this.#timer = undefined;
    if (this.#closed) return;
    // A backup asked for meanwhile counts; the schedule resumes after it.
    if (this.#running) return;
    try {
      this.start();
    } catch (error) {
      this.#onError(error, undefined);
      this.#schedule(Math.min(this.#intervalMs, RETRY_MAX_MS));
    }
  }

  /** Deletes `<id>.partial` folders: backups a crash interrupted (none runs at start). */
  async #removePartials(): Promise<void> {
    if (this.#dir === undefined) return;
    for (const name of await this.#names()) {
      if (name.endsWith(PARTIAL) && BACKUP_ID.test(name.slice(0, -PARTIAL.length))) {
        await fs.rm(path.join(this.#dir, name), { recursive: true, force: true });
      }
    }
  }

  /** Deletes the completed backups beyond the `keep` newest. */
  async #prune(): Promise<void> {
    if (this.#keep <= 0 || this.#dir === undefined) return;
    const completed = (await this.list()).filter((view) => view.state === 'completed');
    for (const view of completed.slice(this.#keep)) {
      await fs.rm(path.join(this.#dir, view.id), { recursive: true, force: true });
    }
  }

  running(): BackupView | undefined {
    return this.#running?.view;
  }

  start(): BackupView {
    if (this.#closed) throw new LedgerError('LEDGER_CLOSED', 'the node is stopping');
    const dir = this.#dir;
    if (dir === undefined) {
      throw new StateError(
        'BACKUP_NOT_CONFIGURED',
        'this node has no backup directory: set EVIDENCE_BACKUP_DIR',
      );
    }
    if (this.#running) {
      throw new StateError(
        'BACKUP_RUNNING',
        `backup ${this.#running.view.id} is being taken; ask again once it is done`,
      );
    }
    let now = this.#clock();
    // Ids are start times; two starts in one millisecond get consecutive ones.
    while (idOf(now) <= this.#lastId) now += 1;
    const id = idOf(now);
    this.#lastId = id;
    const view: BackupView = {
      id,
      state: 'running',
      startedAt: new Date(now).toISOString(),
      finishedAt: null,
      chainId: this.#sources.ledger.chainId,
      ledger: null,
      stores: {},
      files: [],
      error: null,
    };
    const seconds = () => (this.#clock() - now) / 1000;
    // The backup is done, and the next may start, once its manifest is written and the node has
    // counted it (from then on `get` reports it completed): deleting backups past `keep` goes on
    // beside the next one.
    const done = this.#take(dir, view).then(
      (completed) => {
        this.#running = undefined;
        this.#metrics?.finished('completed', seconds(), Date.parse(completed.finishedAt as string));
        this.#onFinished(completed);
        if (this.#intervalMs > 0) this.#schedule(this.#intervalMs);
        this.#pruning = this.#pruning
          .then(() => this.#prune())
          .catch((error: unknown) => this.#onError(error, undefined));
      },
      (error: unknown) => {
        this.#running = undefined;
        this.#onFinished(this.#fail(view, error));
        this.#metrics?.finished('failed', seconds(), this.#clock());
        if (this.#intervalMs > 0) this.#schedule(Math.min(this.#intervalMs, RETRY_MAX_MS));
      },
    );
    this.#running = { view, done };
    return view;
  }

  async list(): Promise<BackupView[]> {
    const views = new Map<string, BackupView>();
    for (const failed of this.#failed) views.set(failed.id, failed);
    if (this.#dir !== undefined) {
      for (const name of await this.#names()) {
        if (!BACKUP_ID.test(name)) continue;
        const manifest = await this.#manifest(name);
        if (manifest) views.set(name, manifest);
      }
    }
    // A backup finishing has its manifest before it stops running: the manifest wins.
    const running = this.#running?.view;
    if (running && !views.has(running.id)) views.set(running.id, running);
    return [...views.values()].sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  }

  async dossier(): Promise<DossierBackups | DossierBackupsNotConfigured> {
    if (this.#dir === undefined) return { configured: false };
    const completed = (await this.list()).filter((view) => view.state === 'completed');
    const last = completed[0];
    return {
      ...(this.#intervalMs > 0 ? { intervalSeconds: Math.ceil(this.#intervalMs / 1000) } : {}),
      ...(this.#keep > 0 ? { keep: this.#keep } : {}),
      completed: completed.length,
      ...(last?.finishedAt
        ? {
            last: {
              finishedAt: last.finishedAt,
              ...(last.ledger
                ? {
                    height: last.ledger.height,
                    verifiedBlocks: last.ledger.verifiedBlocks,
                    ...(last.ledger.tipHash ? { tipHash: last.ledger.tipHash } : {}),
                  }
                : {}),
            },
          }
        : {}),
    };
  }

  async get(id: string): Promise<BackupView | undefined> {
    // Running until the node has done with it (its metrics and audit entry included), even once
    // its manifest is written: a client that sees it completed sees everything that follows.
    const running = this.#running?.view;
    if (running?.id === id) return running;
    const failed = this.#failed.find((view) => view.id === id);
    if (failed) return failed;
    if (this.#dir === undefined || !BACKUP_ID.test(id)) return undefined;
    return this.#manifest(id);
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    if (this.#running) {
      // A backup of a large ledger (or audit log) takes minutes: abandon it rather than hold the
      // stop (its folder is removed as for any failed backup; the next start takes a new one on
      // schedule).
      this.#stopping.abort();
      const { ledger } = this.#sources;
      await ledger.abortBackup?.();
      await this.#running.done;
    }
    await this.#pruning;
  }

  /** The entries of the backup directory; none while it does not exist. */
  async #names(): Promise<string[]> {
    try {
      return await fs.readdir(this.#dir as string);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
  }

  /** The manifest of the completed backup `id`, or `undefined` (none, or not a whole one). */
  async #manifest(id: string): Promise<BackupView | undefined> {
    let text: string;
    try {
      text = await fs.readFile(path.join(this.#dir as string, id, MANIFEST), 'utf8');
    } catch {
      return undefined;
    }
    try {
      const parsed = JSON.parse(text) as unknown;
      if (!isManifest(parsed, id)) return undefined;
      const { type: _type, version: _version, ...view } = parsed;
      return view;
    } catch {
      return undefined;
    }
  }

  /** Takes the backup; resolves with it, completed (its manifest without type and version). */
  async #take(dir: string, running: BackupView): Promise<BackupView> {
    const { ledger, agreements, anchoring, audit, keysFile } = this.#sources;
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    const partial = path.join(dir, `${running.id}${PARTIAL}`);
    await fs.mkdir(partial, { mode: 0o700 });
    try {
      const copied: LedgerBackup | undefined = await ledger.backup?.(partial);
      const stores: Record<string, StoreCopy> = {};
      stores.agreements = await agreements.copyStore(path.join(partial, 'agreements'));
      const anchors = await anchoring.copyStore(path.join(partial, 'anchoring'));
      if (anchors) stores.anchoring = anchors;
      // The audit log grows with every request (months of them): abandoned too when stopping.
      if (audit)
        stores.audit = await audit.copyTo(path.join(partial, 'audit'), {
          signal: this.#stopping.signal,
        });
      const files = copied ? [ledger.isReplica?.() ? REPLICA_TRUST_FILE : 'node-key.pem'] : [];
      if (await copyIfPresent(keysFile, path.join(partial, 'keys.json'))) files.push('keys.json');
      for (const file of this.#sources.extraFiles ?? []) {
        const name = path.basename(file);
        if (await copyIfPresent(file, path.join(partial, name))) files.push(name);
      }
      const finishedAt = this.#clock();
      const manifest: BackupManifest = {
        type: 'evidence-node-backup',
        version: 1,
        ...running,
        state: 'completed',
        finishedAt: new Date(finishedAt).toISOString(),
        ledger: copied ? { kind: 'embedded', ...copied } : null,
        stores,
        files,
      };
      await writeSynced(path.join(partial, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
      await syncDirectory(partial);
      await fs.rename(partial, path.join(dir, running.id));
      await syncDirectory(dir);
      const { type: _type, version: _version, ...completed } = manifest;
      return completed;
    } catch (error) {
      await fs.rm(partial, { recursive: true, force: true }).catch(() => undefined);
      throw error;
    }
  }

  /** Records `running` as failed with `error`; returns it failed. */
  #fail(running: BackupView, error: unknown): BackupView {
    this.#onError(error, running.id);
    const failed: BackupView = {
      ...running,
      state: 'failed',
      finishedAt: new Date(this.#clock()).toISOString(),
      error: failureOf(error),
    };
    this.#failed = [failed, ...this.#failed].slice(0, FAILURES_KEPT);
    return failed;
  }
}

/**
 * The code and message a failed backup shows: `STORAGE_FULL` when a disk filled up (the backup
 * directory's, as a rule), whatever reported it (LevelDB, the file system, the ledger's thread);
 * our own codes as they are; anything else `INTERNAL`.
 */
function failureOf(error: unknown): { code: ErrorCode; message: string } {
  const cause = (error as { cause?: { message?: unknown } } | null)?.cause?.message;
  const text = `${String((error as Error)?.message ?? error)} ${String(cause ?? '')}`;
  const errno = (error as NodeJS.ErrnoException | null)?.code;
  if (errno === 'ENOSPC' || /No space left on device|ENOSPC/.test(text)) {
    return {
      code: 'STORAGE_FULL',
      message: `the disk is full; the backup was removed: ${(error as Error)?.message}`,
    };
  }
  if (isEvidenceError(error)) return { code: error.code, message: error.message };
  return { code: 'INTERNAL', message: `the backup failed: ${(error as Error)?.message}` };
}

/** Copies `from` to `to` (mode 0600, synced); false when `from` does not exist. */
async function copyIfPresent(from: string, to: string): Promise<boolean> {
  let text: string;
  try {
    text = await fs.readFile(from, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
  await writeSynced(to, text);
  return true;
}

export function createBackupService(options: BackupServiceOptions): BackupService {
  return new BackupServiceImpl(options);
}
