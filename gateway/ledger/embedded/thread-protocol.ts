/**
 * What the gateway and the embedded ledger's thread (gateway/ledger/threaded-ledger.ts and
 * ./ledger-thread.ts) say to each other, over the calls of gateway/threads/rpc.ts.
 */

import type { NodeKeyAlgorithm } from '../../../core/block';
import type { ReplicaOptions } from '../embedded-ledger';
import type { NodeKeyState } from '../ledger';

/** What the thread is started with: the embedded ledger's options that are plain data. */
export interface LedgerThreadData {
  readonly dataDir: string;
  readonly org: string;
  readonly chainId?: string;
  readonly operator?: string;
  readonly nodeKeyAlgorithm?: NodeKeyAlgorithm;
  readonly replica?: ReplicaOptions;
  readonly requireOrg?: boolean;
}

/** The ledger operations the thread serves, by name; `close` is the last call. */
export const THREAD_METHODS = [
  'submit',
  'evaluate',
  'transaction',
  'blockHeader',
  'countState',
  'stateKeys',
  'info',
  'verifyChain',
  'backup',
  'abortBackup',
  'rotateKey',
  'keyState',
  'keyRotations',
  'rawBlocks',
  'replicate',
  'close',
] as const;
export type ThreadMethod = (typeof THREAD_METHODS)[number];

/** What the thread says once its ledger is open: its chain, trust file and keys. */
export interface LedgerReady extends NodeKeyState {
  readonly chainId: string;
  /** The store is a replica of another node's chain (docs/replicas.md). */
  readonly replica: boolean;
  /** The thread's id in the operating system (Linux), for the CPU it uses (threads/thread-cpu.ts). */
  readonly osThreadId?: number;
}
