/**
 * LevelDB must not append to a log whose last write failed: records appended after it can be lost
 * when the log is recovered (seen with a full disk: writes acknowledged after an ENOSPC were gone
 * after a restart). Reopening the database starts a new log. The stores that write (the embedded
 * ledger, the audit log) mark a failed write here, and reopen before their next operation; one
 * attempt at a time, shared by every caller.
 */

/** What reopens with the database: its sublevels, which close with it and do not reopen. */
interface Opens {
  open(): Promise<void>;
}

interface Database extends Opens {
  close(): Promise<void>;
}

export class Reopener {
  readonly #db: Database;
  readonly #sublevels: readonly Opens[];
  #needed = false;
  #running: Promise<void> | undefined;

  constructor(db: Database, sublevels: readonly Opens[]) {
    this.#db = db;
    this.#sublevels = sublevels;
  }

  /** True after a failed write, until a reopen succeeded. */
  get needed(): boolean {
    return this.#needed;
  }

  /** A write failed: the store is reopened before the next operation. */
  markFailed(): void {
    this.#needed = true;
  }

  /**
   * Closes and opens the database and its sublevels now (joining an attempt in progress).
   * @throws what opening throws; `needed` stays set and the next call tries again.
   */
  reopen(): Promise<void> {
    this.#running ??= (async () => {
      try {
        await this.#db.close().catch(() => undefined);
        await this.#db.open();
        await Promise.all(this.#sublevels.map((sublevel) => sublevel.open()));
        this.#needed = false;
      } finally {
        this.#running = undefined;
      }
    })();
    return this.#running;
  }

  /**
   * Resolves once the store may be used: waits for a reopen in progress, and reopens first after a
   * failed write or a failed reopen. A database closed on purpose is not reopened.
   */
  ready(): Promise<void> {
    if (this.#running) return this.#running;
    return this.#needed ? this.reopen() : Promise.resolve();
  }
}
