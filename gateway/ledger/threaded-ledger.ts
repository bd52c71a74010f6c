/**
 * The embedded ledger on a thread of its own: the same adapter (gateway/ledger/embedded-ledger.ts),
 * opened inside a worker thread, behind a proxy that implements the ledger port by message. The
 * gateway's thread then only speaks HTTP, validates, and builds receipts, while chaincode
 * execution, block signing and LevelDB work run beside it on the other core. Nothing about the
 * ledger changes: same store, same blocks, same durability (a call resolves once the thread's
 * ledger resolved it, i.e. once its block is synced).
 *
 * If the thread dies, every call waiting on it and every later call fails with
 * `LEDGER_UNAVAILABLE`, and `onFailure` is told: the node then stops and exits with status 1 for
 * its supervisor to restart it (gateway/server.ts).
 */

import * as path from 'node:path';
import type { NodeKeyAlgorithm, SignedBlockHeader } from '../../core/block';
import type { TrustFile } from '../../core/trust';
import type { KeyRotationProofs } from '../../core/trust-update';
import { startThread, ThreadCaller } from '../threads/rpc';
import type { EmbeddedLedgerExtras } from './embedded-ledger';
import type {
  BlockForm,
  CallOptions,
  ChainInfo,
  Committed,
  Ledger,
  LedgerBackup,
  LedgerIdentity,
  NodeKeyRotation,
  NodeKeyState,
  NodeKeyView,
  ReplicatedBlock,
  StoredTransaction,
} from './ledger';
import type { LedgerReady, LedgerThreadData, ThreadMethod } from './embedded/thread-protocol';

export interface ThreadedLedgerOptions extends LedgerThreadData {
  /**
   * The compiled thread script; default `embedded/ledger-thread.js` beside this file (tests that
   * run from source point it at the build).
   */
  readonly threadScript?: string;
  /** Called once if the thread dies while open (not when closed). */
  readonly onFailure?: (error: Error) => void;
}

/** The default thread script, next to this module once compiled. */
export const LEDGER_THREAD_SCRIPT = path.join(__dirname, 'embedded', 'ledger-thread.js');

/**
 * The ledger thread's young generation: 192 MiB, i.e. 64 MiB semi-spaces, as `npm start` gives the
 * HTTP thread (`--max-semi-space-size=64`). A commit's objects (records, states, the block) live
 * until its synced write returns; with V8's default 16 MiB semi-spaces they survive scavenges and
 * are copied, and the node spent ~10 % more CPU per deposit (BENCHMARKS.md).
 */
export const LEDGER_THREAD_YOUNG_GENERATION_MB = 192;

/** The proxy: every call is a message to the thread. */
export class ThreadedLedger implements Ledger, EmbeddedLedgerExtras {
  readonly kind = 'embedded' as const;
  readonly chainId: string;
  readonly #thread: ThreadCaller;
  #trust: TrustFile;
  #nodeKeys: readonly NodeKeyView[];
  /**
   * A rotation failed: its block may still have landed and be adopted by the thread's next write
   * (embedded-ledger.ts, `#reopen`). Until a write succeeds, the copies above are refreshed after
   * each one.
   */
  #keysUncertain = false;
  readonly #replica: boolean;
  readonly osThreadId: number | undefined;

  constructor(thread: ThreadCaller, ready: LedgerReady) {
    this.#thread = thread;
    this.osThreadId = ready.osThreadId;
    this.chainId = ready.chainId;
    this.#trust = ready.trust;
    this.#nodeKeys = ready.nodeKeys;
    this.#replica = ready.replica;
  }

  #call<T>(method: ThreadMethod, args: readonly unknown[]): Promise<T> {
    return this.#thread.call(method, args);
  }

  submit<T = unknown>(
    contract: string,
    fn: string,
    args: readonly string[],
    identity: LedgerIdentity,
    options?: CallOptions,
  ): Promise<Committed<T>> {
    const submitted = this.#call<Committed<T>>('submit', [contract, fn, args, identity, options]);
    if (!this.#keysUncertain) return submitted;
    return submitted.then(
      async (committed) => {
        await this.#refreshKeys(true);
        return committed;
      },
      async (error: unknown) => {
        await this.#refreshKeys(false);
        throw error;
      },
    );
  }

  /** Copies the thread's trust file and key list; `settled`: a write succeeded since the failure. */
  async #refreshKeys(settled: boolean): Promise<void> {
    try {
      const state = await this.#call<NodeKeyState>('keyState', []);
      this.#trust = state.trust;
      this.#nodeKeys = state.nodeKeys;
      if (settled) this.#keysUncertain = false;
    } catch {
      // The thread is gone or closing: the next call reports it.
    }
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

  backup(dir: string): Promise<LedgerBackup> {
    return this.#call('backup', [dir]);
  }

  async abortBackup(): Promise<void> {
    await this.#call('abortBackup', []).catch(() => undefined);
  }

  verifyChain(): Promise<number> {
    return this.#call('verifyChain', []);
  }

  /** Rotates on the thread; the trust file and the key list served here follow. */
  async rotateKey(algorithm?: NodeKeyAlgorithm): Promise<NodeKeyRotation> {
    let rotation: NodeKeyRotation;
    try {
      rotation = await this.#call<NodeKeyRotation>(
        'rotateKey',
        algorithm === undefined ? [] : [algorithm],
      );
    } catch (error) {
      this.#keysUncertain = true;
      throw error;
    }
    this.#trust = rotation.trust;
    this.#nodeKeys = rotation.keys;
    return rotation;
  }

  keyState(): NodeKeyState {
    return { trust: this.#trust, nodeKeys: this.#nodeKeys };
  }

  keyRotations(): Promise<KeyRotationProofs> {
    return this.#call('keyRotations', []);
  }

  rawBlocks(
    from: number,
    limit: number,
    maxBytes: number,
    first: BlockForm = 'whole',
  ): Promise<{ height: number; blocks: string[] }> {
    return this.#call('rawBlocks', [from, limit, maxBytes, first]);
  }

  async replicate(raw: string): Promise<ReplicatedBlock> {
    const replicated = await this.#call<ReplicatedBlock>('replicate', [raw]);
    // A rotation block changes the keys the trust file lists.
    if (replicated.rotated) await this.#refreshKeys(true);
    return replicated;
  }

  isReplica(): boolean {
    return this.#replica;
  }

  nodeKeys(): readonly NodeKeyView[] {
    return this.#nodeKeys;
  }

  trust(): TrustFile {
    return this.#trust;
  }

  /** Closes the ledger on its thread, then ends the thread. Safe to call twice. */
  close(): Promise<void> {
    return this.#thread.close('close');
  }
}

/**
 * Opens the embedded ledger in `options.dataDir` on its own thread.
 * @throws what opening the embedded ledger throws (`LEDGER_CORRUPTED`, `LEDGER_UNAVAILABLE`...),
 *   or `LEDGER_UNAVAILABLE` when the thread cannot start.
 */
export async function openThreadedLedger(options: ThreadedLedgerOptions): Promise<ThreadedLedger> {
  const { threadScript = LEDGER_THREAD_SCRIPT, onFailure, ...data } = options;
  const { worker, ready } = await startThread<LedgerReady>(
    threadScript,
    data satisfies LedgerThreadData,
    'ledger',
    { resourceLimits: { maxYoungGenerationSizeMb: LEDGER_THREAD_YOUNG_GENERATION_MB } },
  );
  return new ThreadedLedger(
    new ThreadCaller(worker, 'ledger', onFailure ? { onDeath: onFailure } : {}),
    ready,
  );
}
