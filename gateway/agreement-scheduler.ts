/**
 * The agreement scheduler: submits `checkDue` right after each due time and each end of grace, so
 * instalments fall due and defaults are recorded by chain time even when no party acts, and even
 * when the node was down at the deadline (docs/agreements.md, "Instalment states").
 *
 * It watches the non-final agreements, in the node's own store (never world state), each with the
 * instant from which `checkDue` changes it (core's `nextDueCheck`). A transaction's agreement is
 * recorded (synced) before it is submitted and updated once it commits, so a crash in between
 * loses nothing; a new or lost store is rebuilt from the chain's `agreement:` keys. On start the
 * scheduler re-reads every watched agreement from the chain, recomputes its deadline, and at once
 * checks each whose deadline passed while the node was down. Then one timer runs to the earliest deadline, capped at the check interval; a run
 * checks every agreement whose deadline has come, one transaction at a time.
 *
 * Time is the ledger's clock (the embedded ledger's `clock` option), injected so tests move it.
 * `checkDue` is idempotent, so a check that turns out early, or twice, changes nothing.
 */

import { FINAL_STATUSES, nextDueCheck, type AgreementState } from '../core/agreement';
import { isEvidenceError } from '../core/errors';
import type { AgreementStore, WatchEntry } from './agreement-store';

/** What the service tells the scheduler about each transaction it submits. */
export interface AgreementWatcher {
  /** Before submitting a transaction on `agreementId`: make sure it is watched (durably). */
  intend(agreementId: string): Promise<void>;
  /** After a transaction committed (or a read): the agreement's current state. */
  observe(state: AgreementState): Promise<void>;
  /** After a transaction on `agreementId` failed: drop it if it never came to exist. */
  abandon(agreementId: string): Promise<void>;
}

export interface AgreementScheduler extends AgreementWatcher {
  /** Number of agreements watched. */
  readonly watching: number;
  /** Loads the watch list and starts checking (first a catch-up run, in the background). */
  start(): Promise<void>;
  /**
   * Checks every agreement whose deadline has come, now (after any run in progress).
   * Resolves with the number of `checkDue` transactions submitted.
   */
  runDue(): Promise<number>;
  /** Resolves when no run is in progress. */
  idle(): Promise<void>;
  /** The earliest deadline watched (epoch ms), if any. */
  nextDeadline(): number | undefined;
  /** Stops the timer and waits for a run in progress. */
  stop(): Promise<void>;
}

export interface AgreementSchedulerOptions {
  readonly store: AgreementStore;
  /** Reads an agreement from the chain (as the gateway); `undefined` when it does not exist. */
  readonly read: (agreementId: string) => Promise<AgreementState | undefined>;
  /**
   * Every agreement id on the chain, to rebuild the watch list when the store is new; without it
   * the list holds only what this node submits.
   */
  readonly listAgreements?: () => Promise<string[]>;
  /** Submits `checkDue` (as the gateway) and reports the result back through `observe`. */
  readonly checkDue: (agreementId: string) => Promise<AgreementState>;
  /** Epoch milliseconds; the ledger's clock. */
  readonly clock: () => number;
  /** The longest the scheduler sleeps, and the cap of every timer. */
  readonly intervalMs: number;
  /** Failures of a check (retried later); the scheduler never throws them. */
  readonly onError?: (error: unknown, agreementId: string) => void;
}

/** Delay before a failed check is tried again (at most the interval). */
const RETRY_MS = 1_000;

function entryOf(state: AgreementState): WatchEntry {
  return { status: state.status, deadline: nextDueCheck(state) };
}

class AgreementSchedulerImpl implements AgreementScheduler {
  readonly #store: AgreementStore;
  readonly #read: AgreementSchedulerOptions['read'];
  readonly #list: AgreementSchedulerOptions['listAgreements'];
  readonly #checkDue: AgreementSchedulerOptions['checkDue'];
  readonly #clock: () => number;
  readonly #intervalMs: number;
  readonly #onError: (error: unknown, agreementId: string) => void;
  readonly #entries = new Map<string, WatchEntry>();
  /** Agreements whose last check failed: retried after RETRY_MS, not at once. */
  readonly #failed = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<number> | undefined;
  #again = false;
  #reconciled = false;
  #started = false;
  #stopped = false;

  constructor(options: AgreementSchedulerOptions) {
    this.#store = options.store;
    this.#read = options.read;
    this.#list = options.listAgreements;
    this.#checkDue = options.checkDue;
    this.#clock = options.clock;
    this.#intervalMs = options.intervalMs;
    this.#onError = options.onError ?? (() => undefined);
  }

  get watching(): number {
    return this.#entries.size;
  }

  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    for (const [id, entry] of await this.#store.watched()) {
      if (!this.#entries.has(id)) this.#entries.set(id, entry);
    }
    if (!(await this.#store.watchComplete())) {
      // A new or lost store: every agreement on the chain is looked at once (the catch-up run
      // drops the final ones).
      for (const id of (await this.#list?.()) ?? []) {
        if (this.#entries.has(id)) continue;
        const entry: WatchEntry = { status: 'pending', deadline: undefined };
        this.#entries.set(id, entry);
        await this.#store.watch(id, entry, false);
      }
      await this.#store.markWatchComplete();
    }
    void this.#kick();
  }

  async intend(agreementId: string): Promise<void> {
    if (this.#entries.has(agreementId)) return;
    const entry: WatchEntry = { status: 'pending', deadline: undefined };
    this.#entries.set(agreementId, entry);
    await this.#store.watch(agreementId, entry, true);
  }

  async observe(state: AgreementState): Promise<void> {
    const id = state.agreementId;
    if (FINAL_STATUSES.includes(state.status)) {
      this.#entries.delete(id);
      this.#failed.delete(id);
      await this.#store.unwatch(id);
    } else {
      const entry = entryOf(state);
      const before = this.#entries.get(id);
      this.#entries.set(id, entry);
      if (before?.status !== entry.status || before.deadline !== entry.deadline)
        await this.#store.watch(id, entry, false);
    }
    if (this.#started && !this.#running) this.#arm();
  }

  async abandon(agreementId: string): Promise<void> {
    if (this.#entries.get(agreementId)?.status !== 'pending') return;
    await this.#refresh(agreementId);
  }

  runDue(): Promise<number> {
    return this.#kick();
  }

  async idle(): Promise<void> {
    while (this.#running) await this.#running.catch(() => undefined);
  }

  nextDeadline(): number | undefined {
    let next: number | undefined;
    for (const entry of this.#entries.values()) {
      if (entry.deadline !== undefined && (next === undefined || entry.deadline < next))
        next = entry.deadline;
    }
    return next;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.idle();
  }

  /** Starts a run, or asks the one in progress to run once more. */
  #kick(): Promise<number> {
    if (this.#stopped) return Promise.resolve(0);
    if (this.#running) {
      this.#again = true;
      return this.#running.then(() => this.#kick());
    }
    clearTimeout(this.#timer);
    const run = this.#run().finally(() => {
      this.#running = undefined;
      if (this.#again) {
        this.#again = false;
        void this.#kick();
      } else {
        this.#arm();
      }
    });
    this.#running = run;
    return run;
  }

  async #run(): Promise<number> {
    if (!this.#reconciled) {
      // Catch up: the chain is the truth, the store only says which agreements to look at.
      for (const id of [...this.#entries.keys()]) {
        if (this.#stopped) return 0;
        await this.#refresh(id);
      }
      this.#reconciled = true;
    }
    this.#failed.clear();
    const now = this.#clock();
    const due = [...this.#entries.entries()]
      .filter(([, entry]) => entry.deadline !== undefined && entry.deadline <= now)
      .sort(([, a], [, b]) => (a.deadline as number) - (b.deadline as number))
      .map(([id]) => id);
    let submitted = 0;
    for (const id of due) {
      if (this.#stopped) break;
      try {
        submitted++;
        await this.observe(await this.#checkDue(id));
        const deadline = this.#entries.get(id)?.deadline;
        // Still due after the check (a clock behind chain time): retry later, not in a loop.
        if (deadline !== undefined && deadline <= now) this.#failed.add(id);
      } catch (error) {
        if (isEvidenceError(error) && error.code === 'AGREEMENT_NOT_FOUND') {
          this.#entries.delete(id);
          await this.#store.unwatch(id).catch(() => undefined);
        } else {
          this.#failed.add(id);
          this.#onError(error, id);
        }
      }
    }
    return submitted;
  }

  /** Re-reads one agreement from the chain and updates its entry. */
  async #refresh(id: string): Promise<void> {
    try {
      const state = await this.#read(id);
      if (state) {
        await this.observe(state);
      } else {
        this.#entries.delete(id);
        await this.#store.unwatch(id);
      }
    } catch (error) {
      this.#onError(error, id);
    }
  }

  /** One timer to the earliest deadline, capped at the interval (and at RETRY_MS after a failure). */
  #arm(): void {
    clearTimeout(this.#timer);
    if (this.#stopped) return;
    const now = this.#clock();
    let delay = this.#intervalMs;
    for (const [id, entry] of this.#entries) {
      if (entry.deadline === undefined) continue;
      if (this.#failed.has(id)) delay = Math.min(delay, RETRY_MS);
      else delay = Math.min(delay, Math.max(0, entry.deadline - now));
    }
    this.#timer = setTimeout(() => void this.#kick(), delay);
    this.#timer.unref();
  }
}

/** A scheduler over `options.store`; call `start()` once the ledger is open. */
export function createAgreementScheduler(options: AgreementSchedulerOptions): AgreementScheduler {
  return new AgreementSchedulerImpl(options);
}
