/**
 * Names the calling thread for the operating system, so that `top -H`, `ps -L` and
 * `/proc/<pid>/task/<tid>/comm` tell the node's threads apart: `evidence-ledger` (chaincode,
 * blocks, LevelDB), `evidence-pdf` (documents). The thread that answers HTTP keeps the process's
 * own name. Linux only (`/proc/thread-self/comm`); elsewhere, or when refused, nothing happens.
 */

import { readlinkSync, writeFileSync } from 'node:fs';

/** The kernel keeps 15 bytes of a thread's name. */
const THREAD_NAME_MAX = 15;

export const LEDGER_THREAD_NAME = 'evidence-ledger';
export const PDF_THREAD_NAME = 'evidence-pdf';

/** Names the calling thread `name` (at most {@link THREAD_NAME_MAX} bytes), where it can. */
export function nameThisThread(name: string): void {
  if (process.platform !== 'linux' || Buffer.byteLength(name) > THREAD_NAME_MAX) return;
  try {
    writeFileSync('/proc/thread-self/comm', name);
  } catch {
    // Not allowed here: the thread keeps the process's name.
  }
}

/**
 * The operating system's id of the calling thread (Linux: from `/proc/thread-self`), so that
 * another thread can tell it apart from the threads it starts, which inherit its name;
 * `undefined` elsewhere.
 */
export function osThreadId(): number | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    return Number.isSafeInteger(tid) && tid > 0 ? tid : undefined;
  } catch {
    return undefined;
  }
}
