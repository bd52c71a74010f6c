/**
 * CPU time of a node process by the threads it names (./thread-name.ts), from
 * `/proc/<pid>/task` (Linux): what `/metrics` reports as `evidence_thread_cpu_seconds_total`, by
 * which the benchmark splits a deposit's cost. A thread started by another inherits its name, so
 * the ledger thread is known by its id (it says it when it is ready), and the other threads named
 * `evidence-ledger` are ones a ledger thread started: LevelDB's compaction thread, and libuv's I/O
 * pool when a ledger thread used it first (the synced writes).
 */

import { readdirSync, readFileSync } from 'node:fs';
import { LEDGER_THREAD_NAME, PDF_THREAD_NAME } from './thread-name';

/** CPU seconds (user + system) a process has used so far, by thread. */
export interface ThreadCpu {
  /** The main thread: HTTP, validation, receipts, responses, the audit log. */
  readonly http: number;
  /** The ledger thread: chaincode, blocks, signatures. */
  readonly ledger: number;
  /** Threads the ledger thread started: LevelDB's compaction, the I/O pool. */
  readonly storage: number;
  /** The PDF thread. */
  readonly pdf: number;
  /**
   * The rest of the process's CPU (`/proc/<pid>/stat`, ended threads included): V8's
   * garbage-collection and compiler helpers, threads that ended.
   */
  readonly other: number;
}

/** USER_HZ: the unit of `/proc/.../stat` times, 100 on every mainstream Linux. */
const CLOCK_TICKS = 100;

/** User + system seconds of a `/proc/.../stat` line. */
function statSeconds(stat: string): number {
  // Fields after the command name, which is in parentheses and may hold spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** CPU seconds of the whole process `pid` so far; `undefined` without /proc. */
export function processCpuOf(pid: number): number | undefined {
  try {
    const seconds = statSeconds(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    return Number.isFinite(seconds) ? seconds : undefined;
  } catch {
    return undefined;
  }
}

/**
 * CPU seconds of process `pid` by thread, its ledger thread being `ledgerTid` (none: no ledger
 * thread); `undefined` where there is no /proc (not Linux).
 */
export function threadCpuOf(pid: number, ledgerTid?: number): ThreadCpu | undefined {
  const total = processCpuOf(pid);
  if (total === undefined) return undefined;
  try {
    const threads: Array<{ tid: number; name: string; seconds: number }> = [];
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        const name = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
        const seconds = statSeconds(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8'));
        if (Number.isFinite(seconds)) threads.push({ tid: Number(tid), name, seconds });
      } catch {
        // The thread ended meanwhile: its time is in the total.
      }
    }
    const sum = (keep: (thread: (typeof threads)[number]) => boolean) =>
      Math.round(
        threads.filter(keep).reduce((seconds, thread) => seconds + thread.seconds, 0) * CLOCK_TICKS,
      ) / CLOCK_TICKS;
    const http = sum((thread) => thread.tid === pid);
    const ledger = sum((thread) => thread.tid === ledgerTid);
    const storage = sum((thread) => thread.name === LEDGER_THREAD_NAME && thread.tid !== ledgerTid);
    const pdf = sum((thread) => thread.name === PDF_THREAD_NAME);
    // Whole clock ticks: the difference of sums of hundredths, without float dust.
    const other =
      Math.max(0, Math.round((total - http - ledger - storage - pdf) * CLOCK_TICKS)) / CLOCK_TICKS;
    return { http, ledger, storage, pdf, other };
  } catch {
    return undefined;
  }
}
