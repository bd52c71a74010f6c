/**
 * The ledger port: one interface, two adapters (the embedded LevelDB ledger, and Fabric). The
 * gateway talks only to this; the shared contract test suite runs against every adapter.
 */

import type { NodeKeyAlgorithm, SignedBlockHeader, TxHeader } from '../../core/block';
import type { Digest } from '../../core/digest';
import { ReplicaError } from '../../core/errors';
import type { TrustFile } from '../../core/trust';
import type { KeyRotationProofs } from '../../core/trust-update';
import type { StoreCopy } from '../storage/store-copy';

/** Who a transaction is submitted as: the chaincode's client identity. */
export interface LedgerIdentity {
  readonly mspId: string;
  readonly id: string;
  readonly role: string;
}

export interface ChaincodeEvent {
  readonly name: string;
  readonly payload: unknown;
}

/** What a committed transaction returns to the submitter. */
export interface Committed<T = unknown> {
  readonly txId: string;
  readonly blockNumber: number;
  readonly time: string;
  readonly result: T;
  readonly event: ChaincodeEvent | undefined;
}

/** A committed transaction with the material a receipt needs. */
export interface StoredTransaction {
  readonly header: TxHeader;
  readonly args: readonly string[];
  readonly result: unknown;
  readonly blockNumber: number;
  readonly txIndex: number;
  /** Hex hashes from the transaction's leaf to the block's data hash. */
  readonly txPath: readonly string[];
  readonly block: SignedBlockHeader;
}

export interface ChainInfo {
  readonly kind: 'embedded' | 'fabric';
  readonly chainId: string;
  /** Number of blocks; the tip is `height - 1`. */
  readonly height: number;
  readonly tipHash: Digest | null;
  readonly tipTime: string | null;
  /** The node's store was rebuilt from a replica's copy (`evidence-node promote-replica`). */
  readonly promoted?: PromotedFrom;
}

/** When a replica's copy became the chain's node store, and the copy's tip then. */
export interface PromotedFrom {
  /** Blocks the copy held: the node signed every block from this one on. */
  readonly height: number;
  readonly tipHash: Digest;
  readonly at: string;
}

/** What {@link Ledger.backup} copied, and what checking the copy found. */
export interface LedgerBackup {
  /** The store as copied (entries, bytes, digest). */
  readonly store: StoreCopy;
  /** Blocks in the copy; its tip is `height - 1`. */
  readonly height: number;
  readonly tipHash: Digest | null;
  readonly tipTime: string | null;
  /** Blocks whose hash chain, data hash and signature were checked in the copy: all of them. */
  readonly verifiedBlocks: number;
}

/** One key of an embedded chain and the blocks it signed (gateway/ledger/embedded/node-keys.ts). */
export interface NodeKeyView {
  readonly keyId: Digest;
  readonly algorithm: NodeKeyAlgorithm;
  readonly publicKey: string;
  readonly firstBlock: number;
  readonly lastBlock?: number;
  readonly notBefore?: string;
  readonly notAfter?: string;
}

/** The trust file of an embedded chain and its keys, as of the last durable block. */
export interface NodeKeyState {
  readonly trust: TrustFile;
  readonly nodeKeys: readonly NodeKeyView[];
}

/** What {@link Ledger.rotateKey} did. */
export interface NodeKeyRotation {
  readonly previousKeyId: Digest;
  readonly keyId: Digest;
  readonly algorithm: NodeKeyAlgorithm;
  readonly publicKey: string;
  /** The rotation block: the last one the previous key signed. */
  readonly blockNumber: number;
  readonly time: string;
  /** Every key of the chain after the rotation, oldest first. */
  readonly keys: readonly NodeKeyView[];
  /** The trust file to pin from now on: every key, each with its window. */
  readonly trust: TrustFile;
}

/** What a replica answers to every write: it commits only the blocks its source signed. */
export function readOnlyReplica(chainId: string): ReplicaError {
  return new ReplicaError(
    'READ_ONLY_REPLICA',
    `this node keeps a copy of chain ${chainId} and commits only the blocks its source ` +
      'signed: send transactions to the source node',
  );
}

/** How a block is served: whole, or only its signed header. */
export type BlockForm = 'whole' | 'header';

/** What a replica committed: the block's number, its header hash and its time. */
export interface ReplicatedBlock {
  readonly number: number;
  readonly hash: Digest;
  readonly time: string;
  /** The block rotated the node key: the trust file lists one key more. */
  readonly rotated: boolean;
}

export interface CallOptions {
  /** Milliseconds since the epoch after which the call fails with `LEDGER_TIMEOUT`. */
  readonly deadline?: number;
}

export interface Ledger {
  /**
   * The operating system's id of the thread the ledger runs on when it has one of its own (the
   * embedded ledger on its worker thread, Linux): how the node's CPU is split by thread.
   */
  readonly osThreadId?: number | undefined;
  readonly kind: 'embedded' | 'fabric';
  readonly chainId: string;
  /**
   * Submits a transaction and resolves once it is durable (embedded: synced write; Fabric: commit
   * status VALID). Chaincode errors reject with an EvidenceError carrying the chaincode's code.
   * @throws LedgerError `LEDGER_UNAVAILABLE`, `LEDGER_TIMEOUT`, `STORAGE_FULL`, `LEDGER_CLOSED`.
   */
  submit<T = unknown>(
    contract: string,
    fn: string,
    args: readonly string[],
    identity: LedgerIdentity,
    options?: CallOptions,
  ): Promise<Committed<T>>;
  /** Runs a read-only transaction; nothing is written. */
  evaluate<T = unknown>(
    contract: string,
    fn: string,
    args: readonly string[],
    identity: LedgerIdentity,
    options?: CallOptions,
  ): Promise<T>;
  /** The committed transaction `txId`, or `undefined`. */
  transaction(txId: string): Promise<StoredTransaction | undefined>;
  /**
   * The signed header of block `number`, or `undefined` past the tip. Receipt upgrades take the
   * header chain up to an anchored block from here (docs/anchors.md); an adapter without it
   * cannot upgrade receipts.
   */
  blockHeader?(number: number): Promise<SignedBlockHeader | undefined>;
  /**
   * Counts the committed world-state keys that start with `prefix` (e.g. `evidence:`, one per
   * evidence record), scanning at most `limit` keys: `complete` is false when it stopped there and
   * `count` is then a lower bound. For the compliance dossier; an adapter without it cannot say.
   */
  countState?(prefix: string, limit: number): Promise<{ count: number; complete: boolean }>;
  /**
   * The committed world-state keys that start with `prefix`, in key order, at most `limit`. The
   * agreement scheduler rebuilds its watch list from `agreement:` keys when its own store is new;
   * an adapter without it leaves that list to what the node itself submits.
   */
  stateKeys?(prefix: string, limit: number): Promise<string[]>;
  /**
   * Writes a consistent copy of the ledger into `dir`, a new folder laid out as a data directory
   * (the node key and the store, as of one snapshot taken while deposits go on), then opens the
   * copy and verifies its whole chain. Only the embedded adapter has it: a Fabric network keeps
   * its ledger on its peers, which have their own snapshots.
   * @throws LedgerError `LEDGER_UNAVAILABLE` when `dir` holds a copy already or cannot be written;
   *   `LEDGER_CORRUPTED` when the copy fails its check.
   */
  backup?(dir: string): Promise<LedgerBackup>;
  /** Abandons a backup being taken (the node is stopping): it fails with `LEDGER_CLOSED`. */
  abortBackup?(): void | Promise<void>;
  /**
   * Rotates the key that signs blocks (embedded adapter only: on Fabric, identities are the
   * organisations' certificates). The rotation is itself a block, signed by the outgoing key.
   * `algorithm` is what the incoming key signs with (default: the configured one, else the
   * current key's).
   * @throws LedgerError as a commit does; nothing changed then.
   */
  rotateKey?(algorithm?: NodeKeyAlgorithm): Promise<NodeKeyRotation>;
  /** Every key the chain has been signed with, oldest first (embedded adapter only). */
  nodeKeys?(): readonly NodeKeyView[];
  /** Every rotation with its proof, oldest first (embedded adapter only; core/trust-update.ts). */
  keyRotations?(): Promise<KeyRotationProofs>;
  /**
   * The durable blocks from `from` on, whole and as stored (`core/full-block.ts`), at most `limit`
   * and about `maxBytes` of text (but always the first two), and the chain's height: what a
   * replica copies (embedded adapter only; docs/replicas.md). With `first` `header`, block `from`
   * is only its signed header (`{header, signature}`): all a replica that holds it needs.
   */
  rawBlocks?(
    from: number,
    limit: number,
    maxBytes: number,
    first?: BlockForm,
  ): Promise<{ height: number; blocks: string[] }>;
  /**
   * Replica only: checks the source's next block and commits it (docs/replicas.md).
   * @throws ReplicaError `BLOCK_INVALID`, nothing written; LedgerError as a commit does.
   */
  replicate?(raw: string): Promise<ReplicatedBlock>;
  /** Whether this ledger is a replica of another node's chain: it refuses every submission. */
  isReplica?(): boolean;
  info(): Promise<ChainInfo>;
  /** The trust entry a verifier pins for this chain. */
  trust(): TrustFile;
  close(): Promise<void>;
}
