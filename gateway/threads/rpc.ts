/**
 * Calls to a worker thread by message, for the node's work that must not hold the thread that
 * answers HTTP: the embedded ledger (gateway/ledger/threaded-ledger.ts) and PDF rendering
 * (gateway/pdf-renderer.ts). One shape on both sides: a call is `{id, method, args}`, its reply
 * `{id, value}` or `{id, error}`; the thread's first message says it is ready (or why not).
 * Everything crossing is plain data (structured clone). Errors cross as name, message, code and
 * fields and are rebuilt as the same EvidenceError subclasses; anything else arrives as an Error
 * with its name and message.
 */

import { Worker, type MessagePort, type ResourceLimits } from 'node:worker_threads';
import {
  ERROR_CODES,
  LedgerError,
  errorOfCode,
  isEvidenceError,
  type ErrorCode,
  type FieldError,
  type LedgerCode,
} from '../../core/errors';

export interface ThreadCall {
  readonly id: number;
  readonly method: string;
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

/** The first message of a thread: ready (with what the caller needs at once), or why not. */
export type ThreadReady<R> =
  ({ readonly ready: true } & R) | { readonly ready: false; readonly error: ThreadError };

/** `error` as plain data (code, message and fields of an EvidenceError). */
export function threadErrorOf(error: unknown): ThreadError {
  if (isEvidenceError(error)) {
    return {
      name: error.name,
      message: error.message,
      code: error.code,
      ...(error.fields ? { fields: error.fields } : {}),
    };
  }
  const { name, message } = error instanceof Error ? error : new Error(String(error));
  return { name, message };
}

/** An error that crossed from a thread, rebuilt as the class it had there. */
export function errorOfThread(error: ThreadError): Error {
  if (error.code !== undefined && (ERROR_CODES as readonly string[]).includes(error.code)) {
    return errorOfCode(error.code as ErrorCode, error.message, error.fields);
  }
  const rebuilt = new Error(error.message);
  rebuilt.name = error.name;
  return rebuilt;
}

/**
 * The thread side: answers every call `port` receives with `handle(method, args)`, as calls
 * settle (not in order). After answering `lastMethod`, the port closes so the thread can end.
 */
export function serveCalls(
  port: MessagePort,
  methods: readonly string[],
  handle: (method: string, args: readonly unknown[]) => unknown,
  lastMethod?: string,
): void {
  port.on('message', (call: ThreadCall) => {
    const reply = (message: ThreadReply) => port.postMessage(message);
    if (!methods.includes(call.method)) {
      reply({ id: call.id, error: { name: 'Error', message: `no method ${String(call.method)}` } });
      return;
    }
    let running: Promise<unknown>;
    try {
      running = Promise.resolve(handle(call.method, call.args));
    } catch (error) {
      running = Promise.reject(error);
    }
    running.then(
      (value) => {
        reply({ id: call.id, value });
        if (call.method === lastMethod) port.close();
      },
      (error: unknown) => reply({ id: call.id, error: threadErrorOf(error) }),
    );
  });
}

/** What a thread is for, as its callers see it. */
export interface ThreadOptions {
  /**
   * The code of a call that fails because the thread is gone: failed to start, died, exited
   * (default `LEDGER_UNAVAILABLE`; the PDF thread's is `RENDERER_UNAVAILABLE`).
   */
  readonly unavailable?: LedgerCode;
}

/**
 * Starts `script` (with `resourceLimits` for its heap, when given) and waits for its first message.
 * @throws LedgerError `options.unavailable` when the thread fails or exits first; the error the
 *   thread reported when it says it is not ready.
 */
export async function startThread<R>(
  script: string,
  workerData: unknown,
  what: string,
  options: ThreadOptions & { readonly resourceLimits?: ResourceLimits } = {},
): Promise<{ worker: Worker; ready: R }> {
  const { resourceLimits, unavailable = 'LEDGER_UNAVAILABLE' } = options;
  const worker = new Worker(script, { workerData, ...(resourceLimits ? { resourceLimits } : {}) });
  let onMessage: ((ready: ThreadReady<R>) => void) | undefined;
  let onError: ((error: Error) => void) | undefined;
  let onExit: ((code: number) => void) | undefined;
  const ready = await new Promise<ThreadReady<R>>((resolve, reject) => {
    const failed = (reason: string) =>
      reject(new LedgerError(unavailable, `the ${what} thread ${reason}`));
    onMessage = resolve;
    onError = (error) => failed(`failed to start: ${error.message}`);
    onExit = (code) => failed(`exited at start (exit code ${code})`);
    worker.once('message', onMessage).once('error', onError).once('exit', onExit);
  }).finally(() => {
    // Only our own listeners: the worker keeps internal ones.
    if (onMessage) worker.off('message', onMessage);
    if (onError) worker.off('error', onError);
    if (onExit) worker.off('exit', onExit);
  });
  if (!ready.ready) {
    await worker.terminate();
    throw errorOfThread(ready.error);
  }
  return { worker, ready: ready as R };
}

interface Waiting {
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/**
 * The caller's side of a started thread. If the thread dies, every waiting and later call fails
 * with `options.unavailable` naming `what`; after {@link close}, with `LEDGER_CLOSED`.
 */
export class ThreadCaller {
  readonly #worker: Worker;
  readonly #what: string;
  readonly #waiting = new Map<number, Waiting>();
  #next = 0;
  readonly #onDeath: ((error: LedgerError) => void) | undefined;
  readonly #unavailable: LedgerCode;
  #down: LedgerError | undefined;
  #closing: Promise<void> | undefined;

  /** `options.onDeath` is called once if the thread fails or exits before {@link close}. */
  constructor(
    worker: Worker,
    what: string,
    options: ThreadOptions & { readonly onDeath?: (error: LedgerError) => void } = {},
  ) {
    this.#worker = worker;
    this.#what = what;
    this.#onDeath = options.onDeath;
    this.#unavailable = options.unavailable ?? 'LEDGER_UNAVAILABLE';
    worker.on('message', (reply: ThreadReply) => {
      const waiting = this.#waiting.get(reply.id);
      if (!waiting) return;
      this.#waiting.delete(reply.id);
      if ('error' in reply) waiting.reject(errorOfThread(reply.error));
      else waiting.resolve(reply.value);
    });
    worker.on('error', (error) => this.#fail(`the ${what} thread failed: ${error.message}`));
    worker.on('exit', (code) => this.#fail(`the ${what} thread stopped (exit code ${code})`));
  }

  /** False once the thread died or was closed. */
  get alive(): boolean {
    return this.#down === undefined;
  }

  #fail(message: string): void {
    const first = this.#down === undefined;
    this.#down ??= new LedgerError(this.#unavailable, message);
    for (const waiting of this.#waiting.values()) waiting.reject(this.#down);
    this.#waiting.clear();
    // A thread that ends after its last call, or is terminated by close, did not die.
    if (first && this.#closing === undefined) this.#onDeath?.(this.#down);
  }

  call<T>(method: string, args: readonly unknown[]): Promise<T> {
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

  /**
   * Makes `lastCall` (when given and the thread is alive), then ends the thread; later calls fail
   * with `LEDGER_CLOSED`. Safe to call twice.
   */
  close(lastCall?: string): Promise<void> {
    this.#closing ??= (async () => {
      try {
        if (lastCall !== undefined && !this.#down) await this.call(lastCall, []);
      } finally {
        this.#down = new LedgerError('LEDGER_CLOSED', `the ${this.#what} thread is closed`);
        await this.#worker.terminate();
      }
    })();
    return this.#closing;
  }
}
