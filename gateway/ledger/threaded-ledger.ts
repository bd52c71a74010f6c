/**
 * The embedded ledger on a thread of its own: the same adapter (gateway/ledger/embedded-ledger.ts),
 * opened inside a worker thread, behind a proxy that implements the ledger port by message. The
 * gateway's thread then only speaks HTTP, validates, and builds receipts, while chaincode
 * execution, block signing and LevelDB work run beside it on the other core. Nothing about the
 * ledger changes: same store, same blocks, same durability (a call resolves once the thread's
 * ledger resolved it, i.e. once its block is synced).
 *
 * If the thread dies, every call waiting on it and every later call fails with
 * `LEDGER_UNAVAILABLE`; the node's readiness probe then reports it.
 */

import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { SignedBlockHeader } from '../../core/block';
import { ERROR_CODES, LedgerError, errorOfCode, type ErrorCode } from '../../core/errors';
import type { TrustFile } from '../../core/trust';
import type { EmbeddedLedgerExtras } from './embedded-ledger';
import type {
  CallOptions,
  ChainInfo,
  Committed,
  Ledger,
  LedgerIdentity,
  StoredTransaction,
} from './ledger';
import type {
  LedgerThreadData,
  ThreadCall,
  ThreadError,
  ThreadMethod,
  ThreadReady,
  ThreadReply,
} from './embedded/thread-protocol';

export interface ThreadedLedgerOptions extends LedgerThreadData {
  /**
   * The compiled thread script; default `embedded/ledger-thread.js` beside this file (tests that
   * run from source point it at the build).
   */
  readonly threadScript?: string;
}

/** The default thread script, next to this module once compiled. */
export const LEDGER_THREAD_SCRIPT = path.join(__dirname, 'embedded', 'ledger-thread.js');

/** An error that crossed from the thread, rebuilt as the class it had there. */
function errorOf(error: ThreadError): Error {
  if (error.code !== undefined && (ERROR_CODES as readonly string[]).includes(error.code)) {
    return errorOfCode(error.code as ErrorCode, error.message, error.fields);
  }
  const rebuilt = new Error(error.message);
  rebuilt.name = error.name;
  return rebuilt;
}

interface Waiting {
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/** The proxy: every call is a message to the thread. */
export class ThreadedLedger implements Ledger, EmbeddedLedgerExtras {
  readonly kind = 'embedded' as const;
  readonly chainId: string;
  readonly #worker: Worker;
  readonly #trust: TrustFile;
  readonly #waiting = new Map<number, Waiting>();
  #next = 0;
  /** Why calls fail from now on: the thread stopped, or the ledger was closed. */
  #down: LedgerError | undefined;
  #closing: Promise<void> | undefined;

  constructor(worker: Worker, ready: Extract<ThreadReady, { ready: true }>) {
    this.#worker = worker;
    this.chainId = ready.chainId;
    this.#trust = ready.trust;
    worker.on('message', (reply: ThreadReply) => {
      const waiting = this.#waiting.get(reply.id);
      if (!waiting) return;
      this.#waiting.delete(reply.id);
      if ('error' in reply) waiting.reject(errorOf(reply.error));
      else waiting.resolve(reply.value);
    });
    worker.on('error', (error) => this.#fail(`the ledger thread failed: ${error.message}`));
    worker.on('exit', (code) => this.#fail(`the ledger thread stopped (exit code ${code})`));
  }

  /** Every waiting and later call fails with `LEDGER_UNAVAILABLE` (once closed: `LEDGER_CLOSED`). */
  #fail(message: string): void {
    this.#down ??= new LedgerError('LEDGER_UNAVAILABLE', message);
    for (const waiting of this.#waiting.values()) waiting.reject(this.#down);
    this.#waiting.clear();
  }

  #call<T>(method: ThreadMethod, args: readonly unknown[]): Promise<T> {
    if (this.#down) return Promise.reject(this.#down);
    const id = this.#next++;
    return new Promise<T>((resolve, reject) => {
      this.#waiting.set(id, { resolve: resolve as (value: unknown) => void, reject });
      try {
        this.#worker.postMessage({ id, method, args } satisfies ThreadCall);
      } catch (error) {
        this.#waiting.delete(id);
        reject(error);
      }
    });
  }

  submit<T = unknown>(
    contract: string,
    fn: string,
    args: readonly string[],
    identity: LedgerIdentity,
    options?: CallOptions,
  ): Promise<Committed<T>> {
    return this.#call('submit', [contract, fn, args, identity, options]);
  }

  evaluate<T = unknown>(
    contract: string,
    fn: string,
    args: readonly string[],
    identity: LedgerIdentity,
    options?: CallOptions,
  ): Promise<T> {
    return this.#call('evaluate', [contract, fn, args, identity, options]);
  }

  transaction(txId: string): Promise<StoredTransaction | undefined> {
    return this.#call('transaction', [txId]);
  }

  blockHeader(number: number): Promise<SignedBlockHeader | undefined> {
    return this.#call('blockHeader', [number]);
  }

  countState(prefix: string, limit: number): Promise<{ count: number; complete: boolean }> {
    return this.#call('countState', [prefix, limit]);
  }

  stateKeys(prefix: string, limit: number): Promise<string[]> {
    return this.#call('stateKeys', [prefix, limit]);
  }

  info(): Promise<ChainInfo> {
    return this.#call('info', []);
  }

  verifyChain(): Promise<number> {
    return this.#call('verifyChain', []);
  }

  trust(): TrustFile {
    return this.#trust;
  }

  /** Closes the ledger on its thread, then ends the thread. Safe to call twice. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      try {
        if (!this.#down) await this.#call('close', []);
      } finally {
        this.#down = new LedgerError('LEDGER_CLOSED', 'the ledger is closed');
        await this.#worker.terminate();
      }
    })();
    return this.#closing;
  }
}

/**
 * Opens the embedded ledger in `options.dataDir` on its own thread.
 * @throws what opening the embedded ledger throws (`LEDGER_CORRUPTED`, `LEDGER_UNAVAILABLE`...),
 *   or `LEDGER_UNAVAILABLE` when the thread cannot start.
 */
export async function openThreadedLedger(options: ThreadedLedgerOptions): Promise<ThreadedLedger> {
  const { threadScript = LEDGER_THREAD_SCRIPT, ...data } = options;
  const worker = new Worker(threadScript, { workerData: data satisfies LedgerThreadData });
  let onMessage: ((ready: ThreadReady) => void) | undefined;
  let onError: ((error: Error) => void) | undefined;
  let onExit: ((code: number) => void) | undefined;
  const ready = await new Promise<ThreadReady>((resolve, reject) => {
    const failed = (reason: string) =>
      reject(new LedgerError('LEDGER_UNAVAILABLE', `the ledger thread ${reason}`));
    onMessage = resolve;
    onError = (error) => failed(`failed to start: ${error.message}`);
    onExit = (code) => failed(`exited at start (exit code ${code})`);
    worker.once('message', onMessage).once('error', onError).once('exit', onExit);
  }).finally(() => {
    // Only our own listeners: the worker keeps internal ones.
    worker.off('message', onMessage!).off('error', onError!).off('exit', onExit!);
  });
  if (!ready.ready) {
    await worker.terminate();
    throw errorOf(ready.error);
  }
  return new ThreadedLedger(worker, ready);
}
