/**
 * Messages between the gateway and the embedded ledger running on its own thread
 * (gateway/ledger/threaded-ledger.ts and ./ledger-thread.ts). Everything crossing is plain data
 * (structured clone); errors cross as their code, message and fields and are rebuilt as the same
 * EvidenceError subclasses on the other side.
 */

import type { FieldError } from '../../../core/errors';
import type { TrustFile } from '../../../core/trust';

/** What the thread is started with: the embedded ledger's options that are plain data. */
export interface LedgerThreadData {
  readonly dataDir: string;
  readonly org: string;
  readonly chainId?: string;
  readonly operator?: string;
}

/** The ledger operations the thread serves, by name. */
export const THREAD_METHODS = [
  'submit',
  'evaluate',
  'transaction',
  'blockHeader',
  'countState',
  'stateKeys',
  'info',
  'verifyChain',
  'close',
] as const;
export type ThreadMethod = (typeof THREAD_METHODS)[number];

export interface ThreadCall {
  readonly id: number;
  readonly method: ThreadMethod;
  readonly args: readonly unknown[];
}

/** An error as it crosses the thread boundary. */
export interface ThreadError {
  readonly name: string;
  readonly message: string;
  /** Set for EvidenceErrors. */
  readonly code?: string;
  readonly fields?: readonly FieldError[];
}

export type ThreadReply =
  | { readonly id: number; readonly value: unknown }
  | { readonly id: number; readonly error: ThreadError };

/** The first message of the thread: the ledger opened (or did not). */
export type ThreadReady =
  | { readonly ready: true; readonly chainId: string; readonly trust: TrustFile }
  | { readonly ready: false; readonly error: ThreadError };
