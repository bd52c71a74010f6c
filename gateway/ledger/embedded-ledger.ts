/**
 * The embedded ledger: the default, zero-set-up adapter of the ledger port, on LevelDB.
 *
 * It runs the same contract classes Fabric runs, in-process, through a small stub. Each
 * transaction becomes one block: hash-chained, signed by the node key, and written together with
 * the world-state changes, the key-history entries and the transaction index in ONE atomic,
 * synced LevelDB batch. An acknowledged transaction therefore survives `kill -9`, and a crash can
 * never leave half a block. On open the tip block is checked (hash chain, data hash, signature)
 * and a corrupted store is refused.
 *
 * Node keys: the key that signs blocks can be rotated (`rotateKey`): a system transaction in a
 * block signed by the outgoing key names the incoming key, which signs every later block
 * (core/key-rotation.ts, embedded/node-keys.ts). The trust file lists every key with its window.
 *
 * Pipelining: transactions execute one at a time, in submission order, and their blocks are
 * written one at a time, in the same order; but transaction n + 1 may execute while block n's
 * synced write is in flight. It then reads block n's writes from memory (`#pending`), as a
 * database reads its own log before the flush. A submission resolves only once its own block is
 * durable, and block n + 1 is written only after block n is, so what was acknowledged is always a
 * prefix of the chain. If a write fails, every block executed on top of it fails too (it read
 * state that never became durable) and execution restarts from the durable tip. `evaluate` and
 * the other reads see durable state only.
 *
 * Layout (sublevels of one database under `<dataDir>/ledger`):
 *   meta     chain  -> {chainId, org, keyId, createdAt};  tip -> {number, hash, time}
 *            keys   -> NodeKeyEntry[] (once the key was rotated: which key signed which blocks)
 *   state    key    -> {v: value, b: block}               (world state)
 *   history  key \x00 block(hex, 12) -> ''                (pointer into the block's write set)
 *   blocks   number(hex, 12) -> StoredBlock
 *   txs      txId   -> number
 */

import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { constants as fsConstants, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { Level } from 'level';
import type { Contract } from 'fabric-contract-api';
import {
  blockHash,
  blockSigningBytes,
  NODE_KEY_ALGORITHMS,
  txLeafHash,
  valueDigest,
  type BlockHeader,
  type NodeKeyAlgorithm,
  type SignedBlockHeader,
  type TxHeader,
} from '../../core/block';
import type { Digest } from '../../core/digest';
import { formatDigest } from '../../core/digest';
import {
  EvidenceError,
  LedgerError,
  ReplicaError,
  StateError,
  isEvidenceError,
  parseWireError,
} from '../../core/errors';
import {
  eventValueOf,
  fullBlockProblem,
  parseFullBlock,
  resultValueOf,
  type BlockSigner,
  type FullBlock,
  type FullTx,
} from '../../core/full-block';
import { canonicalJson } from '../../core/canonical';
import {
  KEY_ROTATION_FN,
  SYSTEM_CONTRACT,
  isKeyRotation,
  keyRotationSigningBytes,
  rotationTxProblem,
  type KeyRotation,
} from '../../core/key-rotation';
import { buildTree, rootOf } from '../../core/merkle';
import type { KeyRotationProofs } from '../../core/trust-update';
import {
  CHAIN_ID_PATTERN,
  verifyBlockSignature,
  type TrustedEmbeddedChain,
  type TrustedKey,
  type TrustFile,
} from '../../core/trust';
import { contracts as defaultContracts } from '../../chaincode';
import type {
  BlockForm,
  CallOptions,
  ChainInfo,
  ChaincodeEvent,
  Committed,
  Ledger,
  LedgerBackup,
  LedgerIdentity,
  NodeKeyRotation,
  NodeKeyState,
  NodeKeyView,
  PromotedFrom,
  ReplicatedBlock,
  StoredTransaction,
} from './ledger';
import { readOnlyReplica } from './ledger';
import { writeWhole } from '../storage/durable-files';
import { Reopener } from '../storage/reopener';
import { copyStore, throwIfStopping } from '../storage/store-copy';
import { openTextStore, UTF8 } from '../storage/text-store';
import { loadNodeKey, loadOrCreateNodeKey, type NodeKey } from './embedded/node-key';
import {
  NEXT_NODE_KEY_FILE,
  NODE_KEY_FILE,
  adoptNextNodeKey,
  keyForBlock,
  removeUnfinishedKeyFiles,
  rotatedKeys,
  sameKeys,
  settleNodeKeyFiles,
  trustedKeys,
  writeNextNodeKey,
  type NodeKeyEntry,
} from './embedded/node-keys';
import { EmbeddedClientIdentity, EmbeddedStub, asFabric, type StateReader } from './embedded/stub';

export interface EmbeddedLedgerOptions {
  readonly dataDir: string;
  /** The node's organisation: the MSP id of its own transactions. */
  readonly org: string;
  /** Chain id fixed at creation; default `<org>-<first 12 hex of the key id>`. */
  readonly chainId?: string;
  /** Who runs this node, for the trust file. */
  readonly operator?: string;
  /**
   * Refuse a chain of another organisation than `org` (how the node opens its own store: its
   * transactions would name another MSP than the chain's genesis). Checks of a copy (a backup, a
   * promotion) open it as whatever organisation.
   */
  readonly requireOrg?: boolean;
  /** Milliseconds since the epoch; for tests of time-dependent contracts. */
  readonly clock?: () => number;
  /** Contract classes to host; default the chaincode package's. */
  readonly contracts?: ReadonlyArray<new () => Contract>;
  /**
   * What new node keys sign with: the first key of a new chain (default `ed25519`) and the
   * incoming key of a rotation that names none (default: the current key's algorithm).
   */
  readonly nodeKeyAlgorithm?: NodeKeyAlgorithm;
  /** Keep a verified copy of another node's chain instead of a chain of its own. */
  readonly replica?: ReplicaOptions;
}

/** In a replica's backup, in place of the node key: the trust file its blocks were checked with. */
export const REPLICA_TRUST_FILE = 'replica-trust.json';

/** Why a new replica's store cannot be opened without its source's block 0. */
export const NEEDS_GENESIS = "a new replica needs its source's block 0 to start from";

/** A transaction and a block as the store keeps them and replicas receive them (core/full-block.ts). */
type StoredTx = FullTx;
type StoredBlock = FullBlock;

/**
 * A replica keeps a verified copy of another node's chain (docs/replicas.md): it signs nothing and
 * commits only blocks its source signed, after checking each against `trust` and running its
 * transactions again through the same contracts.
 */
export interface ReplicaOptions {
  /** The court's pinned trust file: it must name the chain and its first key. */
  readonly trust: TrustFile;
  /** Block 0 of the source, as it serves it: required to create a new replica store. */
  readonly genesis?: string;
}

interface Tip {
  readonly number: number;
  readonly hash: Digest;
  readonly time: string;
}

interface PendingWrite {
  readonly value: string | null;
  readonly block: number;
}

interface ReadWaiter {
  resolve(raw: string | undefined): void;
  reject(error: unknown): void;
}

interface ChainMeta {
  readonly chainId: string;
  readonly org: string;
  readonly keyId: Digest;
  readonly createdAt: string;
  /** A replica's store: the chain's first key, which no key file of this node holds. */
  readonly replica?: { readonly algorithm: NodeKeyAlgorithm; readonly publicKey: string };
  /** A node store that was a replica's (promoteReplicaStore). */
  readonly promoted?: PromotedFrom;
}

const blockKey = (n: number) => n.toString(16).padStart(12, '0');
/** The store, under the data directory (the node key files: embedded/node-keys.ts). */
export const STORE_DIR = 'ledger';
/** Keys a chain may have over its life: as many as a trust file lists for a chain. */
const MAX_NODE_KEYS = 64;
/** Committed transactions kept in memory for {@link EmbeddedLedgerImpl.transaction}. */
const RECENT_TRANSACTIONS = 64;

function storageError(error: unknown): LedgerError {
  // A failed open names the reason only in its cause ("Database failed to open").
  const cause = (error as { cause?: { message?: unknown } } | null)?.cause?.message;
  const text = `${String((error as Error)?.message ?? error)}${cause === undefined ? '' : `: ${String(cause)}`}`;
  if (/ENOSPC|No space left|IO error/i.test(text) && /space|ENOSPC/i.test(text)) {
    return new LedgerError('STORAGE_FULL', 'the node is out of disk space; nothing was written', {
      cause: error,
    });
  }
  if (/closed|not open/i.test(text))
    return new LedgerError('LEDGER_CLOSED', 'the ledger is closed', { cause: error });
  return new LedgerError('LEDGER_UNAVAILABLE', `ledger write failed: ${text}`, { cause: error });
}

class EmbeddedLedgerImpl implements Ledger {
  readonly kind = 'embedded' as const;
  readonly chainId: string;
  readonly #db: Level<string, string>;
  readonly #meta;
  readonly #state;
  readonly #history;
  readonly #blocks;
  readonly #txs;
  /** The key that signs the next block; none on a replica, which signs nothing. */
  #key: NodeKey | undefined;
  /** A replica's pinned trust file (docs/replicas.md); `undefined` on a chain's own node. */
  readonly #replicaTrust: TrustFile | undefined;
  /** Every key of the chain, as durable: which blocks each signed. */
  #keys: readonly NodeKeyEntry[];
  /** The key list a rotation block writes with it, until it is durable. */
  readonly #rotations = new WeakMap<StoredBlock, readonly NodeKeyEntry[]>();
  /** Rotations and backups, one at a time: a backup copies the key file and the store together. */
  #keyWork: Promise<unknown> = Promise.resolve();
  /** Abandon the backups asked for and not finished. */
  readonly #backupAborts = new Set<AbortController>();
  readonly #operator: string | undefined;
  readonly #promoted: PromotedFrom | undefined;
  readonly #clock: () => number;
  readonly #contracts: Map<string, Contract>;
  readonly #contractClasses: ReadonlyArray<new () => Contract>;
  readonly #dataDir: string;
  readonly #org: string;
  readonly #nodeKeyAlgorithm: NodeKeyAlgorithm | undefined;
  /** The durable tip: the last block whose synced write completed. */
  #tip: Tip;
  /** The executed tip: `#tip` plus the blocks executed and waiting for their write. */
  #head: Tip;
  /** Writes of executed blocks that are not durable yet, by key (the latest one). */
  readonly #pending = new Map<string, PendingWrite>();
  /** Executed blocks not durable yet, oldest first (for key history during execution). */
  #pendingBlocks: StoredBlock[] = [];
  /** Bumped when a write fails: blocks executed in an earlier epoch are abandoned. */
  #epoch = 0;
  /** Reopens the store after a failed write (storage/reopener.ts). */
  readonly #reopener: Reopener;
  /**
   * A write failed and the stored tip has not been compared with ours since: the failed batch may
   * have reached the disk (see {@link #reopen}). Cleared only by that check, whoever reopened.
   */
  #tipCheckNeeded = false;
  /** Execution order: one transaction at a time. */
  #executing: Promise<unknown> = Promise.resolve();
  /** Write order: one block at a time, in execution order. */
  #writing: Promise<unknown> = Promise.resolve();
  /** Recently committed transactions, by id: receipts are built right after a commit. */
  readonly #recent = new Map<string, { readonly block: StoredBlock; readonly txIndex: number }>();
  /** State reads waiting to go to LevelDB together (one `getMany` per tick). */
  #reads: { keys: string[]; waiters: Array<ReadWaiter> } | undefined;
  #closed = false;

  constructor(init: {
    db: Level<string, string>;
    dataDir: string;
    org: string;
    key: NodeKey | undefined;
    replicaTrust: TrustFile | undefined;
    keys: readonly NodeKeyEntry[];
    chainId: string;
    tip: Tip;
    operator: string | undefined;
    promoted?: PromotedFrom | undefined;
    clock: () => number;
    contracts: ReadonlyArray<new () => Contract>;
    nodeKeyAlgorithm: NodeKeyAlgorithm | undefined;
  }) {
    this.#db = init.db;
    this.#meta = init.db.sublevel<string, string>('meta', UTF8);
    this.#state = init.db.sublevel<string, string>('state', UTF8);
    this.#history = init.db.sublevel<string, string>('history', UTF8);
    this.#blocks = init.db.sublevel<string, string>('blocks', UTF8);
    this.#txs = init.db.sublevel<string, string>('txs', UTF8);
    // Sublevels close with the database and do not reopen with it.
    this.#reopener = new Reopener(init.db, [
      this.#meta,
      this.#state,
      this.#history,
      this.#blocks,
      this.#txs,
    ]);
    this.#key = init.key;
    this.#replicaTrust = init.replicaTrust;
    this.#keys = init.keys;
    this.chainId = init.chainId;
    this.#tip = init.tip;
    this.#head = init.tip;
    this.#operator = init.operator;
    this.#promoted = init.promoted;
    this.#clock = init.clock;
    this.#dataDir = init.dataDir;
    this.#org = init.org;
    this.#nodeKeyAlgorithm = init.nodeKeyAlgorithm;
    this.#contractClasses = init.contracts;
    this.#contracts = new Map(
      init.contracts.map((Ctor) => {
        const contract = new Ctor();
        return [contract.getName(), contract] as const;
      }),
    );
  }

  submit<T = unknown>(
    contract: string,
    fn: string,
    args: readonly string[],
    identity: LedgerIdentity,
    options?: CallOptions,
  ): Promise<Committed<T>> {
    // The execution chain moves on as soon as the block is sealed; the caller waits for its write.
    const executed = this.#executing.then(() =>
      this.#execute<T>(contract, fn, args, identity, options),
    );
    this.#executing = executed.catch(() => undefined);
    return executed.then((sealed) => sealed.durable);
  }

  /** Executes one transaction on the executed tip and seals its block; see the file comment. */
  async #execute<T>(
    contract: string,
    fn: string,
    args: readonly string[],
    identity: LedgerIdentity,
    options?: CallOptions,
  ): Promise<{ durable: Promise<Committed<T>> }> {
    this.#checkOpen();
    this.#signer();
    if (options?.deadline !== undefined && Date.now() > options.deadline) {
      throw new LedgerError(
        'LEDGER_TIMEOUT',
        'deadline passed before the transaction was executed',
      );
    }
    const epoch = this.#epoch;
    const txId = randomBytes(32).toString('hex');
    const time = this.#nextTime();
    const stub = new EmbeddedStub(this.#reader(true), txId, time, this.chainId, false);
    const resultText = await this.#invoke(contract, fn, args, stub, identity, true);
    const event = stub.event() ?? null;
    const writes = stub.writes();
    const result = resultValueOf(resultText);
    const eventValue = eventValueOf(event) as ChaincodeEvent | null;
    const header: TxHeader = {
      type: 'tx',
      txId,
      chainId: this.chainId,
      time,
      creator: { mspId: identity.mspId, id: identity.id, role: identity.role },
      contract,
      fn,
      argsDigest: valueDigest([...args]),
      resultDigest: valueDigest(result),
      writesDigest: valueDigest(writes),
      eventsDigest: valueDigest(eventValue),
    };
    if (epoch !== this.#epoch) throw abandoned();
    const block = this.#seal({ header, args: [...args], result: resultText, writes, event });
    const durable = this.#write(block, epoch).then((): Committed<T> => ({
      txId,
      blockNumber: block.header.number,
      time,
      result: result as T,
      event: eventValue ? (eventValue satisfies ChaincodeEvent) : undefined,
    }));
    return { durable };
  }

  async evaluate<T = unknown>(
    contract: string,
    fn: string,
    args: readonly string[],
    identity: LedgerIdentity,
  ): Promise<T> {
    this.#checkOpen();
    await this.#ensureOpen();
    const stub = new EmbeddedStub(
      this.#reader(false),
      randomBytes(32).toString('hex'),
      this.#tip.time,
      this.chainId,
      true,
    );
    return resultValueOf(await this.#invoke(contract, fn, args, stub, identity, false)) as T;
  }

  async transaction(txId: string): Promise<StoredTransaction | undefined> {
    this.#checkOpen();
    await this.#ensureOpen();
    if (!/^[0-9a-f]{64}$/.test(txId)) return undefined;
    let found: { block: StoredBlock; txIndex: number } | undefined;
    try {
      found = this.#recent.get(txId) ?? (await this.#locate(txId));
    } catch (error) {
      throw isNotOpen(error) ? reopening(error) : error;
    }
    if (!found) return undefined;
    const { block, txIndex } = found;
    const stored = block.txs[txIndex] as StoredTx;
    return {
      header: stored.header,
      args: stored.args,
      result: resultValueOf(stored.result),
      blockNumber: block.header.number,
      txIndex,
      txPath: [],
      block: { header: block.header, signature: block.signature },
    };
  }

  /** Where the durable transaction `txId` is, read from the store. */
  async #locate(txId: string): Promise<{ block: StoredBlock; txIndex: number } | undefined> {
    const number = await this.#txs.get(txId);
    if (number === undefined) return undefined;
    const block = await this.#readBlock(Number(number));
    if (!block)
      throw new LedgerError('LEDGER_CORRUPTED', `transaction index names missing block ${number}`);
    const txIndex = block.txs.findIndex((tx) => tx.header.txId === txId);
    if (txIndex < 0)
      throw new LedgerError('LEDGER_CORRUPTED', `block ${number} lacks transaction ${txId}`);
    return { block, txIndex };
  }

  /** A signed block header by number, for anchors and cross-checks. */
  async blockHeader(number: number): Promise<SignedBlockHeader | undefined> {
    this.#checkOpen();
    await this.#ensureOpen();
    const block = await this.#readBlock(number).catch(rethrowReopening);
    return block ? { header: block.header, signature: block.signature } : undefined;
  }

  /** Durable world-state keys under `prefix`, counted by a keys-only scan of at most `limit`. */
  async countState(prefix: string, limit: number): Promise<{ count: number; complete: boolean }> {
    let count = 0;
    await this.#scanState(prefix, limit + 1, () => (count += 1));
    return count > limit ? { count: limit, complete: false } : { count, complete: true };
  }

  /** Committed world-state keys under `prefix`, in key order, at most `limit` (keys-only scan). */
  async stateKeys(prefix: string, limit: number): Promise<string[]> {
    const keys: string[] = [];
    await this.#scanState(prefix, limit, (key) => keys.push(key));
    return keys;
  }

  /**
   * Visits the durable world-state keys under `prefix`, in key order, at most `limit`, without
   * keeping them (a count of a million keys holds none); after a failed write the store is
   * reopened first.
   */
  async #scanState(prefix: string, limit: number, visit: (key: string) => void): Promise<void> {
    this.#checkOpen();
    if (prefix === '') throw new RangeError('requires a non-empty prefix');
    await this.#ensureOpen();
    const end = prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
    try {
      for await (const key of this.#state.keys({ gte: prefix, lt: end, limit })) visit(key);
    } catch (error) {
      rethrowReopening(error);
    }
  }

  async info(): Promise<ChainInfo> {
    this.#checkOpen();
    return {
      kind: 'embedded',
      chainId: this.chainId,
      height: this.#tip.number + 1,
      tipHash: this.#tip.hash,
      tipTime: this.#tip.time,
      ...(this.#promoted ? { promoted: this.#promoted } : {}),
    };
  }

  trust(): TrustFile {
    return {
      type: 'judicial-evidence-trust',
      version: 1,
      chains: [
        {
          kind: 'embedded',
          chainId: this.chainId,
          ...(this.#operatorName() ? { operator: this.#operatorName() } : {}),
          keys: trustedKeys(this.#keys),
        },
      ],
    };
  }

  /**
   * Verifies the whole chain from block 0: each header's hash chain, data hash and signature, by
   * the key the chain itself says signed it (from the chain's first key, through every rotation,
   * each checked: signed by the outgoing key, proven by the incoming one). For a store nothing
   * else writes to (a backup, a copy). Returns the number of blocks checked.
   * @throws LedgerError `LEDGER_CORRUPTED` at the first bad block, or when the stored key list is
   *   not the one the rotations in the chain give.
   */
  async verifyChain(signal?: AbortSignal): Promise<number> {
    this.#checkOpen();
    await this.#ensureOpen();
    const first = this.#keys[0] as NodeKeyEntry;
    let keys: NodeKeyEntry[] = [
      { keyId: first.keyId, algorithm: first.algorithm, publicKey: first.publicKey, firstBlock: 0 },
    ];
    let previous: Digest | null = null;
    let count = 0;
    for await (const [key, value] of this.#blocks.iterator()) {
      const block = JSON.parse(value) as StoredBlock;
      if (key !== blockKey(count)) throw corrupted(`block ${count} is missing`);
      throwIfStopping(signal);
      const signer = keys.at(-1) as NodeKeyEntry;
      checkBlock(block, count, previous, signer, this.chainId);
      for (const tx of block.txs) {
        if (!isKeyRotation(tx.header)) continue;
        const problem = rotationTxProblem(tx.header, tx.args, {
          chainId: this.chainId,
          previousKeyId: signer.keyId,
        });
        if (problem) throw corrupted(`the key rotation in block ${count} is invalid: ${problem}`);
        const rotation = JSON.parse(tx.args[0] as string) as KeyRotation;
        keys = rotatedKeys(keys, rotation, count, tx.header.time);
      }
      previous = blockHash(block.header);
      count++;
    }
    if (count !== this.#tip.number + 1 || previous !== this.#tip.hash) {
      throw corrupted(`tip record (${this.#tip.number}) does not match the blocks (${count - 1})`);
    }
    if (!sameKeys(keys, this.#keys))
      throw corrupted('the stored node keys are not the ones the rotations in the chain give');
    return count;
  }

  /** Who runs the chain: this node's operator, or for a replica the one its trust file names. */
  #operatorName(): string | undefined {
    if (!this.#replicaTrust) return this.#operator;
    return trustedChainOf(this.#replicaTrust, this.chainId)?.operator;
  }

  /** Whether this node keeps a copy of another node's chain (docs/replicas.md). */
  isReplica(): boolean {
    return this.#replicaTrust !== undefined;
  }

  /** Every key of the chain, oldest first, with the blocks and the chain time each signed. */
  nodeKeys(): readonly NodeKeyEntry[] {
    return this.#keys;
  }

  /** The trust file and the key list together, for a proxy that keeps copies (threaded-ledger.ts). */
  keyState(): NodeKeyState {
    return { trust: this.trust(), nodeKeys: this.#keys };
  }

  /**
   * Every rotation of the chain with what a verifier needs to check it (its transaction and
   * arguments, the path into its block, the signed block header), oldest first: how a trust file
   * pinned before a rotation leads to the one served now (core/trust-update.ts).
   */
  async keyRotations(): Promise<KeyRotationProofs> {
    this.#checkOpen();
    await this.#ensureOpen();
    const rotations = [];
    for (const key of this.#keys) {
      if (key.lastBlock === undefined) continue;
      const block = await this.#readBlock(key.lastBlock);
      const txIndex = block?.txs.findIndex((tx) => isKeyRotation(tx.header)) ?? -1;
      if (!block || txIndex < 0)
        throw corrupted(`block ${key.lastBlock} does not hold the rotation the key record names`);
      const tx = block.txs[txIndex] as StoredTx;
      const tree = buildTree(block.txs.map((t) => txLeafHash(t.header)));
      rotations.push({
        tx: tx.header,
        args: [tx.args[0], tx.args[1]] as [string, string],
        txIndex,
        txPath: tree.inclusionProof(txIndex).map((hash) => hash.toString('hex')),
        block: { header: block.header, signature: block.signature },
      });
    }
    return { chainId: this.chainId, rotations };
  }

  /**
   * Rotates the node key: a new key is made, a block signed by the current key records it
   * (proven by a signature of the new key), and every later block is signed by the new one. The
   * old private key is removed once the block is durable. Deposits wait only for that one block;
   * a backup in progress finishes first.
   * @throws LedgerError as a commit does (`STORAGE_FULL`, `LEDGER_UNAVAILABLE`...): nothing changed.
   */
  rotateKey(algorithm?: NodeKeyAlgorithm): Promise<NodeKeyRotation> {
    return this.#exclusiveKeyWork(() => {
      const rotated = this.#executing.then(() => this.#rotate(algorithm));
      this.#executing = rotated.catch(() => undefined);
      return rotated;
    });
  }

  async #rotate(asked: NodeKeyAlgorithm | undefined): Promise<NodeKeyRotation> {
    this.#checkOpen();
    if (this.#keys.length >= MAX_NODE_KEYS) {
      throw new StateError(
        'CONFLICT',
        `the chain has been signed with ${MAX_NODE_KEYS} keys, as many as a trust file lists; ` +
          'start a new chain to go on rotating',
      );
    }
    // Every block executed before is written (or failed) first: the rotation is not pipelined.
    await this.#writing.catch(() => undefined);
    const epoch = this.#epoch;
    const outgoing = this.#signer();
    // The file of the key that signs now must be in place before a new one is written (a rename
    // that failed after the last rotation is finished here, not left for the next start).
    const settled = await settleNodeKeyFiles(this.#dataDir, outgoing.keyId).catch(() => undefined);
    if (settled?.key?.keyId !== outgoing.keyId) {
      throw new LedgerError(
        'LEDGER_UNAVAILABLE',
        `the node key file is not the key that signs now (${outgoing.keyId}); nothing was rotated`,
      );
    }
    const algorithm = asked ?? this.#nodeKeyAlgorithm ?? outgoing.algorithm;
    const incoming = await writeNextNodeKey(this.#dataDir, algorithm).catch((error: unknown) => {
      const failed = storageError(error);
      throw failed.code === 'STORAGE_FULL'
        ? failed
        : new LedgerError(
            'LEDGER_UNAVAILABLE',
            `cannot write the new node key: ${(error as Error).message}`,
            { cause: error },
          );
    });
    if (epoch !== this.#epoch) throw abandoned();
    const time = this.#nextTime();
    const rotation: KeyRotation = {
      type: 'key-rotation',
      chainId: this.chainId,
      previousKeyId: outgoing.keyId,
      keyId: incoming.keyId,
      algorithm: incoming.algorithm,
      publicKey: incoming.publicKey,
      time,
    };
    const args = [canonicalJson(rotation), incoming.sign(keyRotationSigningBytes(rotation)).value];
    const block = this.#seal(
      systemTx({ chainId: this.chainId, org: this.#org }, KEY_ROTATION_FN, args, time),
    );
    const keys = rotatedKeys(this.#keys, incoming, block.header.number, time);
    this.#rotations.set(block, keys);
    this.#key = incoming;
    try {
      await this.#write(block, epoch);
    } catch (error) {
      // Not durable: the outgoing key signs on (unless the block landed after all; see #reopen).
      if (this.#keys.at(-1)?.keyId === outgoing.keyId) this.#key = outgoing;
      throw error;
    }
    this.#keys = keys;
    await adoptNextNodeKey(this.#dataDir).catch(() => undefined); // else settled on the next start
    return {
      previousKeyId: outgoing.keyId,
      keyId: incoming.keyId,
      algorithm: incoming.algorithm,
      publicKey: incoming.publicKey,
      blockNumber: block.header.number,
      time,
      keys: [...keys],
      trust: this.trust(),
    };
  }

  /** Runs `work` after the rotation or backup before it, and before the next. */
  #exclusiveKeyWork<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#keyWork.then(work);
    this.#keyWork = run.catch(() => undefined);
    return run;
  }

  backup(dir: string): Promise<LedgerBackup> {
    // The key file and the store must be of the same side of a rotation.
    const abort = new AbortController();
    this.#backupAborts.add(abort);
    return this.#exclusiveKeyWork(() => this.#backup(dir, abort.signal)).finally(() =>
      this.#backupAborts.delete(abort),
    );
  }

  /** Abandons the backups asked for, between two chunks of their copy (the node is stopping). */
  abortBackup(): void {
    for (const abort of this.#backupAborts) abort.abort();
  }

  async #backup(dir: string, signal: AbortSignal): Promise<LedgerBackup> {
    this.#checkOpen();
    // After a failed write the store is reopened first, as for reads: it may be closed.
    await this.#ensureOpen();
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    // A replica has no key file: its copy, like itself, is checked against the pinned trust file,
    // which goes with it.
    if (this.#replicaTrust) {
      await writeWhole(
        path.join(dir, REPLICA_TRUST_FILE),
        `${JSON.stringify(this.#replicaTrust, null, 2)}\n`,
        { replace: false },
      );
    } else {
      await this.#copyKeyFile(dir);
    }
    const store = await copyStore(this.#db, path.join(dir, STORE_DIR), { signal });
    const copy = await openEmbeddedLedger({
      dataDir: dir,
      org: this.#org,
      chainId: this.chainId,
      contracts: this.#contractClasses,
      ...(this.#replicaTrust ? { replica: { trust: this.#replicaTrust } } : {}),
    });
    try {
      const verifiedBlocks = await copy.verifyChain(signal);
      const info = await copy.info();
      return {
        store,
        height: info.height,
        tipHash: info.tipHash,
        tipTime: info.tipTime,
        verifiedBlocks,
      };
    } finally {
      await copy.close();
    }
  }

  async #copyKeyFile(dir: string): Promise<void> {
    const keyCopy = path.join(dir, NODE_KEY_FILE);
    try {
      await fs.copyFile(
        path.join(this.#dataDir, NODE_KEY_FILE),
        keyCopy,
        fsConstants.COPYFILE_EXCL,
      );
      await fs.chmod(keyCopy, 0o600);
    } catch (error) {
      throw new LedgerError(
        'LEDGER_UNAVAILABLE',
        `cannot copy the node key to ${keyCopy}: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#executing.catch(() => undefined);
    await this.#writing.catch(() => undefined);
    await this.#db.close();
  }

  #checkOpen(): void {
    if (this.#closed) throw new LedgerError('LEDGER_CLOSED', 'the ledger is closed');
  }

  /** Chain time never goes backwards, even if the wall clock does. */
  #nextTime(): string {
    const now = this.#clock();
    const last = Date.parse(this.#head.time);
    return new Date(Math.max(now, last)).toISOString();
  }

  /**
   * Committed state for a contract. With `pending`, for a transaction being executed: the writes
   * of executed blocks not yet durable come first.
   */
  #reader(pending: boolean): StateReader {
    return {
      get: async (key) => {
        const written = pending ? this.#pending.get(key) : undefined;
        if (written) return written.value ?? undefined;
        const raw = await this.#getState(key);
        return raw === undefined ? undefined : (JSON.parse(raw) as { v: string }).v;
      },
      history: async (key) => {
        // Blocks pending now are either in the snapshot the iterator takes below, or still
        // pending: count each block once.
        const unwritten = pending ? this.#pendingBlocks : [];
        const seen = new Set<number>();
        const entries: Array<{ txId: string; time: string; value: string | null }> = [];
        const add = (block: StoredBlock | undefined) => {
          if (!block || seen.has(block.header.number)) return;
          seen.add(block.header.number);
          for (const tx of block.txs) {
            const write = tx.writes.find((w) => w.key === key);
            if (write)
              entries.push({ txId: tx.header.txId, time: tx.header.time, value: write.value });
          }
        };
        for await (const hkey of this.#history.keys({ gt: `${key}\x00`, lt: `${key}\x01` })) {
          add(await this.#readBlock(parseInt(hkey.slice(key.length + 1), 16)));
        }
        for (const block of unwritten) add(block);
        return entries;
      },
    };
  }

  /** One state read; reads asked for in the same tick go to LevelDB as one `getMany`. */
  #getState(key: string): Promise<string | undefined> {
    if (!this.#reads) {
      const reads: { keys: string[]; waiters: ReadWaiter[] } = { keys: [], waiters: [] };
      this.#reads = reads;
      queueMicrotask(() => {
        this.#reads = undefined;
        this.#state.getMany(reads.keys).then(
          (values) => values.forEach((raw, index) => reads.waiters[index]?.resolve(raw)),
          (error: unknown) => reads.waiters.forEach((waiter) => waiter.reject(error)),
        );
      });
    }
    const reads = this.#reads;
    return new Promise((resolve, reject) => {
      reads.keys.push(key);
      reads.waiters.push({ resolve, reject });
    });
  }

  async #invoke(
    contractName: string,
    fn: string,
    args: readonly string[],
    stub: EmbeddedStub,
    identity: LedgerIdentity,
    submit: boolean,
  ): Promise<string> {
    const contract = this.#contracts.get(contractName);
    const transactions = contract
      ? ((Reflect.getMetadata('fabric:transactions', Object.getPrototypeOf(contract)) ??
          []) as Array<{
          name: string;
          tag?: string[];
        }>)
      : [];
    const declared = transactions.find((t) => t.name === fn);
    if (!contract || !declared) {
      throw new StateError('NOT_FOUND', `no transaction ${contractName}.${fn}`);
    }
    if (submit !== (declared.tag ?? []).includes('SUBMIT')) {
      throw new StateError(
        'NOT_FOUND',
        `${contractName}.${fn} cannot be ${submit ? 'submitted' : 'evaluated'}`,
      );
    }
    const ctx = contract.createContext();
    Object.assign(ctx, asFabric(stub, new EmbeddedClientIdentity(identity)));
    const method = (contract as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[
      fn
    ];
    if (typeof method !== 'function')
      throw new StateError('NOT_FOUND', `no transaction ${contractName}.${fn}`);
    try {
      const result = await method.call(contract, ctx, ...args);
      return typeof result === 'string' ? result : JSON.stringify(result ?? null);
    } catch (error) {
      // A contract's ContractError has a code but carries its fields only in its wire text.
      if (error instanceof EvidenceError) throw error;
      if (isNotOpen(error)) throw reopening(error);
      const parsed = parseWireError(String((error as Error)?.message ?? error));
      if (!parsed && isEvidenceError(error)) throw error;
      if (parsed) throw parsed;
      throw new EvidenceError(
        'INTERNAL',
        `chaincode failed: ${String((error as Error)?.message ?? error)}`,
      );
    }
  }

  /** Builds and signs the block of `tx` on the executed tip, and makes its writes visible to later executions. */
  #seal(tx: StoredTx): StoredBlock {
    const number = this.#head.number + 1;
    const header: BlockHeader = {
      type: 'block',
      chainId: this.chainId,
      number,
      previousHash: this.#head.hash,
      dataHash: formatDigest('sha256', rootOf([txLeafHash(tx.header)])),
      txCount: 1,
      time: tx.header.time,
    };
    const block: StoredBlock = {
      header,
      signature: this.#signer().sign(blockSigningBytes(header)),
      txs: [tx],
    };
    this.#stage(block);
    return block;
  }

  /** `block` is the executed tip: later executions read its writes until it is durable. */
  #stage(block: StoredBlock): void {
    const { header } = block;
    this.#head = { number: header.number, hash: blockHash(header), time: header.time };
    for (const tx of block.txs) {
      for (const write of tx.writes)
        this.#pending.set(write.key, { value: write.value, block: header.number });
    }
    this.#pendingBlocks.push(block);
  }

  /** The key that signs new blocks. @throws ReplicaError `READ_ONLY_REPLICA` on a replica. */
  #signer(): NodeKey {
    if (this.#key) return this.#key;
    throw readOnlyReplica(this.chainId);
  }

  /**
   * Replica only: commits the next block of the source's chain, `raw` as `GET /v1/blocks` serves
   * it, once it has passed every check (core/full-block.ts: place, digests, signature by the key
   * the chain says signs it, not marked compromised in the pinned trust file) and its
   * transactions, run again through the same contracts on the state before it, give the very
   * results, writes and events the block commits to. Blocks are taken in order and written as
   * the node's own are (one synced batch each); the next may be checked while one is written.
   * @throws ReplicaError `BLOCK_INVALID` (nothing is written); `READ_ONLY_REPLICA` is not it (a
   *   chain's own node replicates nothing); LedgerError as a commit does.
   */
  replicate(raw: string): Promise<ReplicatedBlock> {
    const executed = this.#executing.then(() => this.#replay(raw));
    this.#executing = executed.catch(() => undefined);
    return executed.then((staged) => staged.durable);
  }

  async #replay(raw: string): Promise<{ durable: Promise<ReplicatedBlock> }> {
    this.#checkOpen();
    const trust = this.#replicaTrust;
    if (!trust) {
      throw new StateError('CONFLICT', `this node keeps chain ${this.chainId} of its own`);
    }
    const block = parseFullBlock(raw);
    const number = this.#head.number + 1;
    const signer = this.#keys.at(-1) as NodeKeyEntry;
    const problem = fullBlockProblem(
      block,
      {
        chainId: this.chainId,
        number,
        previousHash: this.#head.hash,
        previousTime: this.#head.time,
      },
      signer,
    );
    if (problem) throw blockInvalid(problem);
    const compromisedSince = pinnedKey(trust, this.chainId, signer.keyId)?.compromisedSince;
    if (
      compromisedSince !== undefined &&
      Date.parse(block.header.time) >= Date.parse(compromisedSince)
    ) {
      throw blockInvalid(
        `block ${number} is signed by node key ${signer.keyId}, which the pinned trust file ` +
          `marks compromised since ${compromisedSince}`,
      );
    }
    const epoch = this.#epoch;
    const keys = await this.#replayTxs(block);
    if (epoch !== this.#epoch) throw abandoned();
    this.#stage(block);
    const replicated: ReplicatedBlock = {
      number,
      hash: this.#head.hash,
      time: block.header.time,
      rotated: keys !== undefined,
    };
    if (!keys) return { durable: this.#write(block, epoch).then(() => replicated) };
    // The next block is signed by the incoming key: it is checked once this one is durable.
    this.#rotations.set(block, keys);
    await this.#write(block, epoch);
    this.#keys = keys;
    return { durable: Promise.resolve(replicated) };
  }

  /**
   * Runs `block`'s transactions again, in order, each seeing the writes of those before it, and
   * compares what they give with what the block commits to; returns the chain's keys after it
   * when it rotates the node key.
   * @throws ReplicaError `BLOCK_INVALID` at the first transaction that does not give its block's
   *   writes, result or event, that the contract refuses, or that is a system transaction a
   *   block may not hold.
   */
  async #replayTxs(block: StoredBlock): Promise<NodeKeyEntry[] | undefined> {
    const { number } = block.header;
    const committed = this.#reader(true);
    const earlier = new Map<string, string | null>();
    const reader: StateReader = {
      get: async (key) => (earlier.has(key) ? (earlier.get(key) ?? undefined) : committed.get(key)),
      history: (key) => committed.history(key),
    };
    let keys: NodeKeyEntry[] | undefined;
    for (const [index, tx] of block.txs.entries()) {
      const which = `transaction ${index} of block ${number}`;
      const { header } = tx;
      if (await this.#knownTx(header.txId))
        throw blockInvalid(`${which} repeats txId ${header.txId}`);
      if (header.contract === SYSTEM_CONTRACT) {
        const current = (keys ?? this.#keys).at(-1) as NodeKeyEntry;
        const problem = rotationTxProblem(header, tx.args, {
          chainId: this.chainId,
          previousKeyId: current.keyId,
        });
        if (problem) throw blockInvalid(`${which} is not a valid key rotation: ${problem}`);
        if (tx.writes.length > 0 || tx.event !== null || resultValueOf(tx.result) !== null)
          throw blockInvalid(`${which}, a key rotation, writes state or has a result or event`);
        if ((keys ?? this.#keys).length >= MAX_NODE_KEYS)
          throw blockInvalid(`${which} rotates to more than ${MAX_NODE_KEYS} node keys`);
        const rotation = JSON.parse(tx.args[0] as string) as KeyRotation;
        keys = rotatedKeys(keys ?? this.#keys, rotation, number, header.time);
        continue;
      }
      const stub = new EmbeddedStub(reader, header.txId, header.time, this.chainId, false);
      const identity: LedgerIdentity = {
        mspId: header.creator.mspId,
        id: header.creator.id,
        role: header.creator.role ?? '',
      };
      let resultText: string;
      try {
        resultText = await this.#invoke(header.contract, header.fn, tx.args, stub, identity, true);
      } catch (error) {
        if (error instanceof LedgerError) throw error;
        const code = isEvidenceError(error) ? `${error.code}: ` : '';
        throw blockInvalid(
          `the contracts refuse ${which} (${header.contract}.${header.fn}): ${code}${(error as Error).message}`,
        );
      }
      const event = stub.event() ?? null;
      const writes = stub.writes();
      if (valueDigest(writes) !== header.writesDigest)
        throw blockInvalid(`${which} does not write what its block says when run again`);
      if (valueDigest(resultValueOf(resultText)) !== header.resultDigest)
        throw blockInvalid(`${which} does not give the result its block says when run again`);
      if (valueDigest(eventValueOf(event)) !== header.eventsDigest)
        throw blockInvalid(`${which} does not emit the event its block says when run again`);
      for (const write of writes) earlier.set(write.key, write.value);
    }
    return keys;
  }

  /** Whether a transaction with id `txId` is on the chain already, durable or executed. */
  async #knownTx(txId: string): Promise<boolean> {
    if (this.#pendingBlocks.some((b) => b.txs.some((tx) => tx.header.txId === txId))) return true;
    return (await this.#txs.get(txId)) !== undefined;
  }

  /**
   * The durable blocks from `from` on, as stored (the JSON a replica checks), at most `limit` and
   * at most about `maxBytes` of text, but always the first two when there are two (a replica asks
   * from the block it holds: however large, it must get one more); `height` is the number of
   * durable blocks. With `first` `header`, block `from` is only its signed header: a replica
   * holding it compares that, and is not sent again what it holds.
   */
  async rawBlocks(
    from: number,
    limit: number,
    maxBytes: number,
    first: BlockForm = 'whole',
  ): Promise<{ height: number; blocks: string[] }> {
    this.#checkOpen();
    await this.#ensureOpen();
    const tip = this.#tip.number;
    const blocks: string[] = [];
    if (from > tip || limit < 1) return { height: tip + 1, blocks };
    let bytes = 0;
    try {
      for await (let value of this.#blocks.values({
        gte: blockKey(from),
        lte: blockKey(Math.min(tip, from + limit - 1)),
      })) {
        if (blocks.length === 0 && first === 'header') {
          const { header, signature } = JSON.parse(value) as StoredBlock;
          value = JSON.stringify({ header, signature });
        }
        if (blocks.length > 1 && bytes + value.length > maxBytes) break;
        blocks.push(value);
        bytes += value.length;
      }
    } catch (error) {
      rethrowReopening(error);
    }
    return { height: tip + 1, blocks };
  }

  /**
   * Writes `block` in one synced batch once every earlier block is written.
   * @throws LedgerError from {@link storageError}, or `LEDGER_UNAVAILABLE` when an earlier block
   *   failed (this one was executed on top of it and is abandoned).
   */
  #write(block: StoredBlock, epoch: number): Promise<void> {
    const written = this.#writing.then(async () => {
      if (epoch !== this.#epoch) throw abandoned();
      try {
        if (this.#tipCheckNeeded) await this.#reopen();
        await this.#operations(block).write({ sync: true });
      } catch (error) {
        // Our own errors come from the reopen (still no space, or the tip moved).
        const ours = isEvidenceError(error);
        if (!ours) {
          this.#reopener.markFailed();
          this.#tipCheckNeeded = true;
        }
        this.#abandon();
        throw ours ? error : storageError(error);
      }
      this.#durable(block);
    });
    this.#writing = written.catch(() => undefined);
    return written;
  }

  /** The chained LevelDB batch of `block`: the block, its index entry, the tip and its writes. */
  #operations(block: StoredBlock) {
    const { number } = block.header;
    const tip: Tip = { number, hash: blockHash(block.header), time: block.header.time };
    // Keys prefixed here, on one root-level chained batch: much cheaper per operation than
    // array operations naming their sublevel.
    const batch = this.#db.batch();
    batch.put(this.#blocks.prefixKey(blockKey(number), 'utf8'), JSON.stringify(block));
    batch.put(this.#meta.prefixKey('tip', 'utf8'), JSON.stringify(tip));
    const keys = this.#rotations.get(block);
    if (keys) batch.put(this.#meta.prefixKey('keys', 'utf8'), JSON.stringify(keys));
    const suffix = `\x00${blockKey(number)}`;
    for (const tx of block.txs) {
      batch.put(this.#txs.prefixKey(tx.header.txId, 'utf8'), String(number));
      for (const write of tx.writes) {
        const key = this.#state.prefixKey(write.key, 'utf8');
        if (write.value === null) batch.del(key);
        else batch.put(key, JSON.stringify({ v: write.value, b: number }));
        batch.put(this.#history.prefixKey(write.key + suffix, 'utf8'), '');
      }
    }
    return batch;
  }

  /** `block` is durable: it becomes the tip and its writes are read from LevelDB from now on. */
  #durable(block: StoredBlock): void {
    const { header } = block;
    this.#tip = { number: header.number, hash: blockHash(header), time: header.time };
    for (const tx of block.txs) {
      for (const write of tx.writes) {
        if (this.#pending.get(write.key)?.block === header.number) this.#pending.delete(write.key);
      }
    }
    this.#pendingBlocks = this.#pendingBlocks.filter((b) => b.header.number > header.number);
    block.txs.forEach((tx, txIndex) => this.#recent.set(tx.header.txId, { block, txIndex }));
    while (this.#recent.size > RECENT_TRANSACTIONS) {
      this.#recent.delete(this.#recent.keys().next().value as string);
    }
  }

  /** Reads wait for a reopen in progress, and reopen first after a failed write or reopen. */
  async #ensureOpen(): Promise<void> {
    try {
      await this.#reopener.ready();
    } catch (error) {
      throw storageError(error);
    }
  }

  /**
   * Reopens the store after a failed write, before the next one. LevelDB must not append to a
   * log whose last write failed: records appended after it can be lost when the log is recovered
   * (seen with a full disk: writes acknowledged after an ENOSPC were gone after a restart).
   * Reopening starts a new log. The failed batch may still have reached the disk whole; then its
   * block is adopted as the tip and the block executed on the old tip is abandoned.
   */
  async #reopen(): Promise<void> {
    await this.#ensureOpen();
    const raw = await this.#meta.get('tip');
    const stored = raw === undefined ? undefined : (JSON.parse(raw) as Tip);
    if (stored && stored.hash !== this.#tip.hash) {
      // The landed block may be a rotation: its key list came with it.
      const keys =
        (await readRecordedKeys(this.#meta, (this.#keys[0] as NodeKeyEntry).keyId)) ?? this.#keys;
      await checkTip(this.#db, stored, keys, this.chainId);
      if (this.#key && keys.at(-1)?.keyId !== this.#key.keyId) {
        const { key } = await settleNodeKeyFiles(
          this.#dataDir,
          (keys.at(-1) as NodeKeyEntry).keyId,
        );
        if (!key) throw corrupted('the rotation block landed but the new node key file is gone');
        this.#key = key;
      }
      this.#keys = keys;
      this.#tip = stored;
      this.#tipCheckNeeded = false;
      this.#abandon();
      throw abandoned();
    }
    this.#tipCheckNeeded = false;
  }

  /** A write failed: forget every executed block that is not durable and go on from the tip. */
  #abandon(): void {
    this.#epoch += 1;
    this.#head = this.#tip;
    this.#pending.clear();
    this.#pendingBlocks = [];
  }

  async #readBlock(number: number): Promise<StoredBlock | undefined> {
    const raw = await this.#blocks.get(blockKey(number));
    return raw === undefined ? undefined : (JSON.parse(raw) as StoredBlock);
  }
}

/** A read that met the store closed: it is being reopened after a failed write. */
function isNotOpen(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'LEVEL_DATABASE_NOT_OPEN';
}

/** Rethrows `error`, as {@link reopening} when the store was closed under the read. */
function rethrowReopening(error: unknown): never {
  throw isNotOpen(error) ? reopening(error) : error;
}

function reopening(error: unknown): LedgerError {
  return new LedgerError('LEDGER_UNAVAILABLE', 'the ledger store is being reopened; retry', {
    cause: error,
  });
}

function abandoned(): LedgerError {
  return new LedgerError(
    'LEDGER_UNAVAILABLE',
    'an earlier block could not be written, so this transaction was not committed; retry',
  );
}

function corrupted(message: string): LedgerError {
  return new LedgerError(
    'LEDGER_CORRUPTED',
    `the ledger store is corrupted: ${message}. The node refuses to serve it; restore the data directory from a backup.`,
  );
}

/** Checks one stored block against its position, its parent and the key that signed it. */
function checkBlock(
  block: StoredBlock,
  number: number,
  previous: Digest | null,
  key: BlockSigner,
  chainId: string,
): void {
  const problem = fullBlockProblem(block, { chainId, number, previousHash: previous }, key);
  if (problem) throw corrupted(problem);
}

function blockInvalid(problem: string): ReplicaError {
  return new ReplicaError('BLOCK_INVALID', `the source's ${problem}; nothing was written`);
}

/** The trust file's entry for the embedded chain `chainId`. */
function trustedChainOf(trust: TrustFile, chainId: string): TrustedEmbeddedChain | undefined {
  return trust.chains.find(
    (chain): chain is TrustedEmbeddedChain =>
      chain.kind === 'embedded' && chain.chainId === chainId,
  );
}

/** The key `keyId` the trust file pins for chain `chainId`. */
function pinnedKey(trust: TrustFile, chainId: string, keyId: Digest): TrustedKey | undefined {
  return trustedChainOf(trust, chainId)?.keys.find((key) => key.keyId === keyId);
}

/**
 * Opens (or creates) the embedded ledger in `options.dataDir`.
 * @throws LedgerError `LEDGER_CORRUPTED` when the tip block fails its checks;
 *   `LEDGER_UNAVAILABLE` when the store cannot be opened (e.g. locked by another process).
 */
export async function openEmbeddedLedger(
  options: EmbeddedLedgerOptions,
): Promise<Ledger & EmbeddedLedgerExtras> {
  const db = await openTextStore(path.join(options.dataDir, STORE_DIR), 'ledger store');
  try {
    await removeUnfinishedKeyFiles(options.dataDir);
    const meta = db.sublevel<string, string>('meta', UTF8);
    const clock = options.clock ?? Date.now;
    const rawChain = await meta.get('chain');
    if (options.replica) return await openReplica(db, options, options.replica, rawChain);
    let chain: ChainMeta;
    let tip: Tip;
    let key: NodeKey;
    let keys: readonly NodeKeyEntry[];
    if (rawChain === undefined) {
      // A new chain: an incoming key left by anything before it means nothing.
      await fs.rm(path.join(options.dataDir, NEXT_NODE_KEY_FILE), { force: true });
      ({ key } = await loadOrCreateNodeKey(
        path.join(options.dataDir, NODE_KEY_FILE),
        options.nodeKeyAlgorithm ?? 'ed25519',
      ));
      const chainId = options.chainId ?? `${options.org.toLowerCase()}-${key.keyId.slice(7, 19)}`;
      if (!new RegExp(CHAIN_ID_PATTERN).test(chainId)) {
        throw new LedgerError(
          'LEDGER_UNAVAILABLE',
          `chain id "${chainId}" is not a valid identifier`,
        );
      }
      chain = {
        chainId,
        org: options.org,
        keyId: key.keyId,
        createdAt: new Date(clock()).toISOString(),
      };
      await writeGenesis(db, key, chain);
      tip = JSON.parse((await meta.get('tip')) as string) as Tip;
      keys = [firstKeyEntry(key)];
    } else {
      chain = JSON.parse(rawChain) as ChainMeta;
      if (chain.replica) {
        throw new LedgerError(
          'LEDGER_UNAVAILABLE',
          `this data directory holds a replica of chain ${chain.chainId}, which has no node key: ` +
            'start it as a replica (EVIDENCE_REPLICA_SOURCE, docs/replicas.md)',
        );
      }
      const recorded = await readRecordedKeys(meta, chain.keyId);
      const currentKeyId = recorded ? (recorded.at(-1) as NodeKeyEntry).keyId : chain.keyId;
      const settled = await settleNodeKeyFiles(options.dataDir, currentKeyId);
      if (!settled.key) {
        const file = settled.fileKeyId ?? `no ${NODE_KEY_FILE}`;
        throw corrupted(
          recorded
            ? `the node key (${file}) is not the chain's current signing key (${currentKeyId})`
            : `the node key (${file}) is not the key this chain was created with (${chain.keyId})`,
        );
      }
      key = settled.key;
      keys = recorded ?? [firstKeyEntry(key)];
      if (options.requireOrg && chain.org !== options.org) {
        throw new LedgerError(
          'LEDGER_UNAVAILABLE',
          `this data directory holds chain ${chain.chainId} of organisation ${chain.org} (its ` +
            `block 0); the node is configured as ${options.org}: set EVIDENCE_ORG=${chain.org}`,
        );
      }
      if (options.chainId && options.chainId !== chain.chainId) {
        throw new LedgerError(
          'LEDGER_UNAVAILABLE',
          `configured chain id ${options.chainId} differs from the stored chain id ${chain.chainId}`,
        );
      }
      tip = await readCheckedTip(db, keys, chain.chainId);
    }
    return new EmbeddedLedgerImpl({
      db,
      dataDir: options.dataDir,
      org: options.org,
      key,
      replicaTrust: undefined,
      keys,
      chainId: chain.chainId,
      tip,
      operator: options.operator,
      promoted: chain.promoted,
      clock,
      contracts: options.contracts ?? defaultContracts,
      nodeKeyAlgorithm: options.nodeKeyAlgorithm,
    });
  } catch (error) {
    await db.close().catch(() => undefined);
    throw error;
  }
}

/**
 * Opens a replica's store, creating it from the source's block 0 (`replica.genesis`) when it is
 * new: block 0 must be a genesis signed by a key the pinned trust file names for its chain.
 * @throws ReplicaError `BLOCK_INVALID` for a genesis that is not; LedgerError `LEDGER_UNAVAILABLE`
 *   when the store is a chain's own, of another chain than the trust file's, or new without a
 *   genesis; `LEDGER_CORRUPTED` as for any store.
 */
async function openReplica(
  db: Level<string, string>,
  options: EmbeddedLedgerOptions,
  replica: ReplicaOptions,
  rawChain: string | undefined,
): Promise<EmbeddedLedgerImpl> {
  const meta = db.sublevel<string, string>('meta', UTF8);
  let chain: ChainMeta;
  if (rawChain === undefined) {
    if (replica.genesis === undefined) throw new LedgerError('LEDGER_UNAVAILABLE', NEEDS_GENESIS);
    chain = await writeReplicaGenesis(db, replica.trust, replica.genesis);
  } else {
    chain = JSON.parse(rawChain) as ChainMeta;
    if (!chain.replica) {
      throw new LedgerError(
        'LEDGER_UNAVAILABLE',
        `this data directory holds chain ${chain.chainId} of its own node; a replica needs an empty one`,
      );
    }
    if (!trustedChainOf(replica.trust, chain.chainId)) {
      throw new LedgerError(
        'LEDGER_UNAVAILABLE',
        `this replica keeps chain ${chain.chainId}, which the pinned trust file does not name`,
      );
    }
  }
  const first: NodeKeyEntry = {
    keyId: chain.keyId,
    algorithm: (chain.replica as NonNullable<ChainMeta['replica']>).algorithm,
    publicKey: (chain.replica as NonNullable<ChainMeta['replica']>).publicKey,
    firstBlock: 0,
  };
  const keys = (await readRecordedKeys(meta, chain.keyId)) ?? [first];
  const tip = await readCheckedTip(db, keys, chain.chainId);
  return new EmbeddedLedgerImpl({
    db,
    dataDir: options.dataDir,
    org: options.org,
    key: undefined,
    replicaTrust: replica.trust,
    keys,
    chainId: chain.chainId,
    tip,
    operator: undefined,
    clock: options.clock ?? Date.now,
    contracts: options.contracts ?? defaultContracts,
    nodeKeyAlgorithm: undefined,
  });
}

/** What {@link promoteReplicaStore} made of a replica's store. */
export interface PromotedStore {
  readonly chainId: string;
  /** The chain's organisation, from its genesis: the node must run as it (`EVIDENCE_ORG`). */
  readonly org: string;
  /** The chain's current key, now this node's `node-key.pem`. */
  readonly keyId: Digest;
}

/**
 * Makes the replica store in `dataDir` (closed, checked by its caller) the chain's own node store,
 * signing with `key` (docs/replicas.md): the way a platform rebuilds its node from a court's copy
 * when its own store is lost. The key is written to `node-key.pem` (synced), then the chain record
 * drops its replica mark (one synced write), so a crash in between leaves a replica that can be
 * promoted again. Nothing else changes: the store layout is the node's own.
 * @throws LedgerError `LEDGER_UNAVAILABLE` when the store is not a replica's, `key` is not the
 *   chain's current key, or `node-key.pem` holds another key; as {@link openTextStore}.
 */
export async function promoteReplicaStore(
  dataDir: string,
  key: { readonly keyId: Digest; readonly pem: string },
): Promise<PromotedStore> {
  const db = await openTextStore(path.join(dataDir, STORE_DIR), 'ledger store');
  try {
    const meta = db.sublevel<string, string>('meta', UTF8);
    const raw = await meta.get('chain');
    const chain = raw === undefined ? undefined : (JSON.parse(raw) as ChainMeta);
    if (!chain?.replica) {
      throw new LedgerError(
        'LEDGER_UNAVAILABLE',
        chain
          ? `${dataDir} holds chain ${chain.chainId} of its own node, not a replica`
          : `${dataDir} holds no chain`,
      );
    }
    const recorded = await readRecordedKeys(meta, chain.keyId);
    const current = recorded ? (recorded.at(-1) as NodeKeyEntry).keyId : chain.keyId;
    if (key.keyId !== current) {
      throw new LedgerError(
        'LEDGER_UNAVAILABLE',
        `the key given is ${key.keyId}; chain ${chain.chainId} is signed by ${current} now`,
      );
    }
    const file = path.join(dataDir, NODE_KEY_FILE);
    const held = await loadNodeKey(file);
    if (held && held.keyId !== key.keyId) {
      throw new LedgerError(
        'LEDGER_UNAVAILABLE',
        `${NODE_KEY_FILE} in ${dataDir} holds another key (${held.keyId}); remove it first`,
      );
    }
    // Left by a promotion that stopped before its chain record was written: the same key.
    if (!held) await writeWhole(file, key.pem, { replace: false });
    const tip = await readTip(db);
    const { replica: _replica, ...own } = chain;
    const promoted: PromotedFrom = {
      height: tip.number + 1,
      tipHash: tip.hash,
      at: new Date().toISOString(),
    };
    await meta.put('chain', JSON.stringify({ ...own, promoted }), { sync: true } as never);
    return { chainId: chain.chainId, org: chain.org, keyId: key.keyId };
  } finally {
    await db.close();
  }
}

/** Checks the source's block 0 against the pinned trust file and writes it as a replica's first. */
async function writeReplicaGenesis(
  db: Level<string, string>,
  trust: TrustFile,
  raw: string,
): Promise<ChainMeta> {
  const block = parseFullBlock(raw);
  const { header } = block;
  const tx = block.txs[0] as StoredTx;
  const chain = trustedChainOf(trust, header.chainId);
  if (!chain) {
    throw blockInvalid(
      `block 0 is of chain ${header.chainId}, which the pinned trust file does not name`,
    );
  }
  if (
    block.txs.length !== 1 ||
    tx.header.contract !== SYSTEM_CONTRACT ||
    tx.header.fn !== 'genesis' ||
    tx.args.length !== 3 ||
    tx.args[0] !== header.chainId ||
    tx.args[2] !== block.signature.keyId
  ) {
    throw blockInvalid('block 0 is not a genesis naming its chain and the key that signed it');
  }
  const signed = verifyBlockSignature(block, trust);
  if (!signed.ok) throw blockInvalid(`block 0: ${signed.detail}`);
  const { compromisedSince } = signed.key;
  if (compromisedSince !== undefined && Date.parse(header.time) >= Date.parse(compromisedSince)) {
    throw blockInvalid(
      `block 0 is signed by ${signed.key.keyId}, which the pinned trust file marks compromised since ${compromisedSince}`,
    );
  }
  const key: NodeKeyEntry = {
    keyId: signed.key.keyId,
    algorithm: block.signature.algorithm as NodeKeyAlgorithm,
    publicKey: signed.key.publicKey,
    firstBlock: 0,
  };
  if (!(NODE_KEY_ALGORITHMS as readonly string[]).includes(key.algorithm)) {
    throw blockInvalid(`block 0 is signed with ${key.algorithm}, which no node key signs with`);
  }
  const problem = fullBlockProblem(
    block,
    { chainId: header.chainId, number: 0, previousHash: null },
    key,
  );
  if (problem) throw blockInvalid(problem);
  const meta: ChainMeta = {
    chainId: header.chainId,
    org: tx.args[1] as string,
    keyId: key.keyId,
    createdAt: header.time,
    replica: { algorithm: key.algorithm, publicKey: key.publicKey },
  };
  await writeFirstBlock(db, block, meta);
  return meta;
}

/** The chain's first key, from block 0 on. */
function firstKeyEntry(key: NodeKey): NodeKeyEntry {
  return { keyId: key.keyId, algorithm: key.algorithm, publicKey: key.publicKey, firstBlock: 0 };
}

/**
 * The key list a rotation stored; `undefined` for a chain never rotated. Checked for shape: the
 * first key is the chain's, each starts where the one before ended.
 * @throws LedgerError `LEDGER_CORRUPTED` when it is not a well-formed list.
 */
async function readRecordedKeys(
  meta: { get(key: string): Promise<string | undefined> },
  chainKeyId: Digest,
): Promise<NodeKeyEntry[] | undefined> {
  const raw = await meta.get('keys');
  if (raw === undefined) return undefined;
  let keys: NodeKeyEntry[];
  try {
    keys = JSON.parse(raw) as NodeKeyEntry[];
  } catch {
    throw corrupted('the node key record is not readable');
  }
  const wellFormed =
    Array.isArray(keys) &&
    keys.length >= 2 &&
    keys[0]?.keyId === chainKeyId &&
    keys[0].firstBlock === 0 &&
    keys.every(
      (k, i) =>
        typeof k?.keyId === 'string' &&
        (NODE_KEY_ALGORITHMS as readonly unknown[]).includes(k.algorithm) &&
        typeof k.publicKey === 'string' &&
        (i === keys.length - 1
          ? k.lastBlock === undefined
          : k.lastBlock !== undefined && keys[i + 1]?.firstBlock === k.lastBlock + 1),
    );
  if (!wellFormed) throw corrupted('the node key record is malformed');
  return keys;
}

/** Extra operations of the embedded adapter beyond the port. */
export interface EmbeddedLedgerExtras {
  blockHeader(number: number): Promise<SignedBlockHeader | undefined>;
  backup(dir: string): Promise<LedgerBackup>;
  abortBackup(): void | Promise<void>;
  /** `signal` (in process only) abandons the check between blocks with `LEDGER_CLOSED`. */
  verifyChain(signal?: AbortSignal): Promise<number>;
  rotateKey(algorithm?: NodeKeyAlgorithm): Promise<NodeKeyRotation>;
  nodeKeys(): readonly NodeKeyView[];
  keyState(): NodeKeyState;
  keyRotations(): Promise<KeyRotationProofs>;
  rawBlocks(
    from: number,
    limit: number,
    maxBytes: number,
    first?: BlockForm,
  ): Promise<{ height: number; blocks: string[] }>;
  replicate(raw: string): Promise<ReplicatedBlock>;
  isReplica(): boolean;
}

/**
 * A transaction of the ledger itself ({@link SYSTEM_CONTRACT}: the genesis, key rotations), by
 * the node as admin of its organisation, with no result, writes or event.
 */
function systemTx(
  chain: { readonly chainId: string; readonly org: string },
  fn: string,
  args: readonly string[],
  time: string,
): StoredTx {
  return {
    header: {
      type: 'tx',
      txId: randomBytes(32).toString('hex'),
      chainId: chain.chainId,
      time,
      creator: { mspId: chain.org, id: 'node', role: 'admin' },
      contract: SYSTEM_CONTRACT,
      fn,
      argsDigest: valueDigest([...args]),
      resultDigest: valueDigest(null),
      writesDigest: valueDigest([]),
      eventsDigest: valueDigest(null),
    },
    args: [...args],
    result: 'null',
    writes: [],
    event: null,
  };
}

async function writeGenesis(
  db: Level<string, string>,
  key: NodeKey,
  chain: ChainMeta,
): Promise<void> {
  const tx = systemTx(chain, 'genesis', [chain.chainId, chain.org, chain.keyId], chain.createdAt);
  const header0 = tx.header;
  const header: BlockHeader = {
    type: 'block',
    chainId: chain.chainId,
    number: 0,
    previousHash: null,
    dataHash: formatDigest('sha256', rootOf([txLeafHash(header0)])),
    txCount: 1,
    time: chain.createdAt,
  };
  const block: StoredBlock = { header, signature: key.sign(blockSigningBytes(header)), txs: [tx] };
  await writeFirstBlock(db, block, chain);
}

/** Writes block 0, its transaction's index entry, the tip and the chain record in one synced batch. */
async function writeFirstBlock(
  db: Level<string, string>,
  block: StoredBlock,
  chain: ChainMeta,
): Promise<void> {
  const { header } = block;
  const header0 = (block.txs[0] as StoredTx).header;
  const tip: Tip = { number: 0, hash: blockHash(header), time: header.time };
  await db.batch(
    [
      {
        type: 'put',
        sublevel: db.sublevel<string, string>('blocks', UTF8),
        key: blockKey(0),
        value: JSON.stringify(block),
      },
      {
        type: 'put',
        sublevel: db.sublevel<string, string>('txs', UTF8),
        key: header0.txId,
        value: '0',
      },
      {
        type: 'put',
        sublevel: db.sublevel<string, string>('meta', UTF8),
        key: 'tip',
        value: JSON.stringify(tip),
      },
      {
        type: 'put',
        sublevel: db.sublevel<string, string>('meta', UTF8),
        key: 'chain',
        value: JSON.stringify(chain),
      },
    ] as never,
    { sync: true },
  );
}

/** The stored tip record. @throws LedgerError `LEDGER_CORRUPTED` when it is missing. */
async function readTip(db: Level<string, string>): Promise<Tip> {
  const raw = await db.sublevel<string, string>('meta', UTF8).get('tip');
  if (raw === undefined) throw corrupted('the tip record is missing');
  return JSON.parse(raw) as Tip;
}

/** The stored tip, once {@link checkTip} passed it: how a store is opened. */
async function readCheckedTip(
  db: Level<string, string>,
  keys: readonly NodeKeyEntry[],
  chainId: string,
): Promise<Tip> {
  const tip = await readTip(db);
  await checkTip(db, tip, keys, chainId);
  return tip;
}

/** The start-up integrity check: the tip block and its link to its parent. */
async function checkTip(
  db: Level<string, string>,
  tip: Tip,
  keys: readonly NodeKeyEntry[],
  chainId: string,
): Promise<void> {
  const keyOf = (n: number) => {
    const key = keyForBlock(keys, n);
    if (!key) throw corrupted(`no node key is recorded for block ${n}`);
    return key;
  };
  const blocks = db.sublevel<string, string>('blocks', UTF8);
  const read = async (n: number): Promise<StoredBlock> => {
    const raw = await blocks.get(blockKey(n));
    if (raw === undefined) throw corrupted(`block ${n} is missing`);
    try {
      return JSON.parse(raw) as StoredBlock;
    } catch {
      throw corrupted(`block ${n} is not readable`);
    }
  };
  const block = await read(tip.number);
  const parent = tip.number > 0 ? await read(tip.number - 1) : undefined;
  if (parent)
    checkBlock(parent, tip.number - 1, parent.header.previousHash, keyOf(tip.number - 1), chainId);
  checkBlock(
    block,
    tip.number,
    parent ? blockHash(parent.header) : null,
    keyOf(tip.number),
    chainId,
  );
  if ((keys.at(-1) as NodeKeyEntry).firstBlock > tip.number + 1)
    throw corrupted(`the current node key starts past the tip ${tip.number}`);
  if (blockHash(block.header) !== tip.hash)
    throw corrupted('the tip hash does not match the tip block');
  const next = await blocks.get(blockKey(tip.number + 1));
  if (next !== undefined) throw corrupted(`a block exists past the recorded tip ${tip.number}`);
}
