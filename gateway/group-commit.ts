/**
 * Group commit: concurrent deposits wait in one queue and go to the ledger together, one
 * transaction for many records, as databases batch their log flushes.
 *
 * A batch leaves when `maxBatch` items wait, when the first waiting item has waited `delayMs`, or at
 * once when nobody else is on the way (no announced arrival): a lone request pays no delay.
 *
 * Batches adapt to the load: what arrives while a commit runs forms the next batch, so the busier
 * the node, the larger (and cheaper per record) its transactions. Up to `maxInFlight` commits may
 * run at once (a ledger that pipelines executes the next batch while the previous one is being
 * made durable), but a commit starts beside another only once a full batch (`maxBatch`) waits:
 * below that, waiting for the running commit gives a larger batch for the same latency, and on a
 * busy CPU that is what wins. An item whose key is already in the forming batch waits for the
 * next one, so a batch never holds a key twice; the ledger orders batches that are in flight
 * together, so a key in two of them is seen by the later one as already there.
 * Each waiter settles only after its batch's commit settled: with its own result, or with the
 * commit's error (every waiter of that batch gets the same error).
 */

import { LedgerError, type EvidenceError } from '../core/errors';

export interface GroupCommitOptions<T, R> {
  /** Items per commit (GROUP_COMMIT_MAX). */
  readonly maxBatch: number;
  /** How long the first waiting item may wait for others (GROUP_COMMIT_DELAY_MS). */
  readonly delayMs: number;
  /** Items allowed to wait; beyond, `add` refuses with `OVERLOADED`. */
  readonly maxQueued: number;
  /**
   * Commits allowed to run at once (default 1). Above 1, `commit` must accept overlapping calls and
   * commit them in call order, as the ledger port's `submit` does.
   */
  readonly maxInFlight?: number;
  /** Key that must not repeat within one commit. */
  readonly keyOf: (item: T) => string;
  /**
   * Commits `items` durably and returns one result per item, in order. Rejecting fails every
   * waiter of the batch with that error.
   */
  readonly commit: (items: readonly T[]) => Promise<readonly R[]>;
  /**
   * When set, waiters whose commit has not settled after this many milliseconds fail with
   * `LEDGER_TIMEOUT` (the outcome is then unknown). The commit itself is still awaited before the
   * next one starts.
   */
  readonly timeoutMs?: number;
}

export interface GroupCommit<T, R> {
  /**
   * Announces an item that is on its way (a request being read and validated), so a lone waiting
   * item holds the batch open for it, at most `delayMs`. Call the returned function when the item
   * was added or will not come; calling it twice is harmless.
   */
  announce(): () => void;
  /**
   * Queues `items` together: all are admitted or none.
   * @throws LedgerError `OVERLOADED` when they would exceed `maxQueued`, `LEDGER_CLOSED` after close.
   */
  add(items: readonly T[]): Promise<R>[];
  /** Items waiting (not in flight). */
  readonly waiting: number;
  /** Commits started so far. */
  readonly commits: number;
  /** Commits started and not settled yet. */
  readonly inFlight: number;
  /** Stops admitting, commits everything that waits and resolves when the last commit settled. */
  close(): Promise<void>;
}

interface Waiter<T, R> {
  readonly item: T;
  readonly key: string;
  readonly since: number;
  settled: boolean;
  resolve(result: R): void;
  reject(error: unknown): void;
}

/** Past this many skipped duplicates, a batch is cut short: bounds the scan of a long queue. */
const SCAN_SLACK = 4;

class GroupCommitImpl<T, R> implements GroupCommit<T, R> {
  readonly #options: GroupCommitOptions<T, R>;
  #queue: Waiter<T, R>[] = [];
  #announced = 0;
  #inFlight = 0;
  #commits = 0;
  #closing = false;
  #timer: NodeJS.Timeout | undefined;
  #immediate: NodeJS.Immediate | undefined;
  #idle: (() => void) | undefined;

  constructor(options: GroupCommitOptions<T, R>) {
    this.#options = options;
  }

  get waiting(): number {
    return this.#queue.length;
  }

  get commits(): number {
    return this.#commits;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  get #slots(): number {
    return this.#options.maxInFlight ?? 1;
  }

  announce(): () => void {
    this.#announced += 1;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.#announced -= 1;
      this.#schedule();
    };
  }

  add(items: readonly T[]): Promise<R>[] {
    if (this.#closing) throw new LedgerError('LEDGER_CLOSED', 'the node is shutting down');
    if (this.#queue.length + items.length > this.#options.maxQueued) {
      throw new LedgerError(
        'OVERLOADED',
        `more than ${this.#options.maxQueued} deposits are waiting`,
      );
    }
    const now = Date.now();
    const promises = items.map(
      (item) =>
        new Promise<R>((resolve, reject) => {
          this.#queue.push({
            item,
            key: this.#options.keyOf(item),
            since: now,
            settled: false,
            resolve,
            reject,
          });
        }),
    );
    this.#schedule();
    return promises;
  }

  close(): Promise<void> {
    this.#closing = true;
    if (this.#inFlight === 0 && this.#queue.length === 0) return Promise.resolve();
    const idle = new Promise<void>((resolve) => {
      this.#idle = resolve;
    });
    this.#schedule();
    return idle;
  }

  /** Decides when the next batch leaves; called whenever something changed. */
  #schedule(): void {
    if (!this.#mayStart()) return;
    const first = this.#queue[0] as Waiter<T, R>;
    const waited = Date.now() - first.since;
    const now =
      this.#closing ||
      this.#announced <= 0 ||
      this.#queue.length >= this.#options.maxBatch ||
      waited >= this.#options.delayMs;
    if (now) {
      if (this.#timer) clearTimeout(this.#timer);
      this.#timer = undefined;
      // setImmediate, not a synchronous flush: items added in the same turn join this batch.
      if (this.#immediate === undefined) {
        this.#immediate = setImmediate(() => {
          this.#immediate = undefined;
          this.#flush();
        });
      }
    } else {
      if (this.#timer === undefined) {
        this.#timer = setTimeout(() => {
          this.#timer = undefined;
          this.#flush();
        }, this.#options.delayMs - waited);
      }
    }
  }

  #take(): Waiter<T, R>[] {
    const { maxBatch } = this.#options;
    const batch: Waiter<T, R>[] = [];
    const keys = new Set<string>();
    const rest: Waiter<T, R>[] = [];
    let skipped = 0;
    let index = 0;
    for (; index < this.#queue.length; index++) {
      if (batch.length >= maxBatch || skipped > maxBatch * SCAN_SLACK) break;
      const waiter = this.#queue[index] as Waiter<T, R>;
      if (keys.has(waiter.key)) {
        rest.push(waiter);
        skipped += 1;
      } else {
        keys.add(waiter.key);
        batch.push(waiter);
      }
    }
    this.#queue = index < this.#queue.length ? rest.concat(this.#queue.slice(index)) : rest;
    return batch;
  }

  /** Whether a commit may start now: a free slot, and beside a running commit only a full batch. */
  #mayStart(): boolean {
    if (this.#inFlight >= this.#slots || this.#queue.length === 0) return false;
    return this.#inFlight === 0 || this.#closing || this.#queue.length >= this.#options.maxBatch;
  }

  #flush(): void {
    if (!this.#mayStart()) return;
    const batch = this.#take();
    this.#inFlight += 1;
    this.#commits += 1;
    let timeout: NodeJS.Timeout | undefined;
    if (this.#options.timeoutMs !== undefined) {
      timeout = setTimeout(() => {
        const error = new LedgerError(
          'LEDGER_TIMEOUT',
          'the ledger did not commit in time; the outcome is unknown',
        );
        for (const waiter of batch) settle(waiter, error);
      }, this.#options.timeoutMs);
    }
    let running: Promise<readonly R[]>;
    try {
      running = this.#options.commit(batch.map((waiter) => waiter.item));
    } catch (error) {
      running = Promise.reject(error);
    }
    running
      .then(
        (results) => {
          if (results.length !== batch.length) {
            const error: EvidenceError = new LedgerError(
              'INTERNAL',
              'commit returned a result count unlike its batch',
            );
            for (const waiter of batch) settle(waiter, error);
            return;
          }
          batch.forEach((waiter, index) => settle(waiter, undefined, results[index] as R));
        },
        (error: unknown) => {
          const reason = error ?? new LedgerError('INTERNAL', 'commit failed without a reason');
          for (const waiter of batch) settle(waiter, reason);
        },
      )
      .finally(() => {
        if (timeout) clearTimeout(timeout);
        this.#inFlight -= 1;
        if (this.#queue.length > 0) this.#schedule();
        else if (this.#closing && this.#inFlight === 0) this.#idle?.();
      });
    // Another slot may be free for what is left (more than maxBatch waited, or deferred keys).
    if (this.#queue.length > 0) this.#schedule();
  }
}

function settle<T, R>(waiter: Waiter<T, R>, error: unknown, result?: R): void {
  if (waiter.settled) return;
  waiter.settled = true;
  if (error !== undefined) waiter.reject(error);
  else waiter.resolve(result as R);
}

/**
 * A group-commit queue over `options.commit`.
 * Requires `maxBatch >= 1`, `delayMs >= 0`, `maxQueued >= 1`, `maxInFlight >= 1`.
 */
export function createGroupCommit<T, R>(options: GroupCommitOptions<T, R>): GroupCommit<T, R> {
  return new GroupCommitImpl(options);
}
