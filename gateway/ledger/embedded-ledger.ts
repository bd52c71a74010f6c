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
 * Layout (sublevels of one database under `<dataDir>/ledger`):
 *   meta     chain  -> {chainId, org, keyId, createdAt};  tip -> {number, hash, time}
 *   state    key    -> {v: value, b: block}               (world state)
 *   history  key \x00 block(hex, 12) -> ''                (pointer into the block's write set)
 *   blocks   number(hex, 12) -> StoredBlock
 *   txs      txId   -> number
 */

import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { Level } from 'level';
import type { Contract } from 'fabric-contract-api';
import {
  blockHash,
  blockSigningBytes,
  txLeafHash,
  valueDigest,
  type BlockHeader,
  type SignedBlockHeader,
  type TxHeader,
} from '../../core/block';
import type { Digest } from '../../core/digest';
import { formatDigest } from '../../core/digest';
import {
  EvidenceError,
  LedgerError,
  StateError,
  isEvidenceError,
  parseWireError,
} from '../../core/errors';
import { rootOf } from '../../core/merkle';
import { publicKeyFromSpki, verifySignature } from '../../core/signature';
import type { TrustFile } from '../../core/trust';
import { CHAIN_ID_PATTERN } from '../../core/trust';
import { contracts as defaultContracts } from '../../chaincode';
import type {
  CallOptions,
  ChainInfo,
  ChaincodeEvent,
  Committed,
  Ledger,
  LedgerIdentity,
  StoredTransaction,
} from './ledger';
import { loadOrCreateNodeKey, type NodeKey } from './embedded/node-key';
import {
  EmbeddedClientIdentity,
  EmbeddedStub,
  asFabric,
  type StateReader,
  type Write,
} from './embedded/stub';

export interface EmbeddedLedgerOptions {
  readonly dataDir: string;
  /** The node's organisation: the MSP id of its own transactions. */
  readonly org: string;
  /** Chain id fixed at creation; default `<org>-<first 12 hex of the key id>`. */
  readonly chainId?: string;
  /** Who runs this node, for the trust file. */
  readonly operator?: string;
  /** Milliseconds since the epoch; for tests of time-dependent contracts. */
  readonly clock?: () => number;
  /** Contract classes to host; default the chaincode package's. */
  readonly contracts?: ReadonlyArray<new () => Contract>;
}

interface StoredTx {
  readonly header: TxHeader;
  readonly args: readonly string[];
  readonly result: string;
  readonly writes: readonly Write[];
  readonly event: { name: string; payload: string } | null;
}

interface StoredBlock {
  readonly header: BlockHeader;
  readonly signature: SignedBlockHeader['signature'];
  readonly txs: readonly StoredTx[];
}

interface Tip {
  readonly number: number;
  readonly hash: Digest;
  readonly time: string;
}

interface ChainMeta {
  readonly chainId: string;
  readonly org: string;
  readonly keyId: Digest;
  readonly createdAt: string;
}

const UTF8 = { valueEncoding: 'utf8' } as const;
const blockKey = (n: number) => n.toString(16).padStart(12, '0');
const SYSTEM_CONTRACT = '_system';

function storageError(error: unknown): LedgerError {
  const text = String((error as Error)?.message ?? error);
  if (/ENOSPC|No space left|IO error/i.test(text) && /space|ENOSPC/i.test(text)) {
    return new LedgerError('STORAGE_FULL', 'the node is out of disk space; nothing was written', {
      cause: error,
    });
  }
  if (/closed|not open/i.test(text))
    return new LedgerError('LEDGER_CLOSED', 'the ledger is closed', { cause: error });
  return new LedgerError('LEDGER_UNAVAILABLE', `ledger write failed: ${text}`, { cause: error });
}

/** Parses a contract's string result: JSON when it is JSON, else the string itself. */
function parseResult(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
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
  readonly #key: NodeKey;
  readonly #operator: string | undefined;
  readonly #clock: () => number;
  readonly #contracts: Map<string, Contract>;
  #tip: Tip;
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(init: {
    db: Level<string, string>;
    key: NodeKey;
    chainId: string;
    tip: Tip;
    operator: string | undefined;
    clock: () => number;
    contracts: ReadonlyArray<new () => Contract>;
  }) {
    this.#db = init.db;
    this.#meta = init.db.sublevel<string, string>('meta', UTF8);
    this.#state = init.db.sublevel<string, string>('state', UTF8);
    this.#history = init.db.sublevel<string, string>('history', UTF8);
    this.#blocks = init.db.sublevel<string, string>('blocks', UTF8);
    this.#txs = init.db.sublevel<string, string>('txs', UTF8);
    this.#key = init.key;
    this.chainId = init.chainId;
    this.#tip = init.tip;
    this.#operator = init.operator;
    this.#clock = init.clock;
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
    return this.#serial(async () => {
      this.#checkOpen();
      if (options?.deadline !== undefined && Date.now() > options.deadline) {
        throw new LedgerError(
          'LEDGER_TIMEOUT',
          'deadline passed before the transaction was executed',
        );
      }
      const txId = randomBytes(32).toString('hex');
      const time = this.#nextTime();
      const stub = new EmbeddedStub(this.#reader(), txId, time, this.chainId, false);
      const resultText = await this.#invoke(contract, fn, args, stub, identity, true);
      const event = stub.event() ?? null;
      const header: TxHeader = {
        type: 'tx',
        txId,
        chainId: this.chainId,
        time,
        creator: { mspId: identity.mspId, id: identity.id, role: identity.role },
        contract,
        fn,
        argsDigest: valueDigest([...args]),
        resultDigest: valueDigest(parseResult(resultText)),
        writesDigest: valueDigest(stub.writes()),
        eventsDigest: valueDigest(
          event === null ? null : { name: event.name, payload: parseResult(event.payload) },
        ),
      };
      const block = await this.#commit({
        header,
        args: [...args],
        result: resultText,
        writes: stub.writes(),
        event,
      });
      return {
        txId,
        blockNumber: block.header.number,
        time,
        result: parseResult(resultText) as T,
        event: event
          ? ({ name: event.name, payload: parseResult(event.payload) } satisfies ChaincodeEvent)
          : undefined,
      };
    });
  }

  async evaluate<T = unknown>(
    contract: string,
    fn: string,
    args: readonly string[],
    identity: LedgerIdentity,
  ): Promise<T> {
    this.#checkOpen();
    const stub = new EmbeddedStub(
      this.#reader(),
      randomBytes(32).toString('hex'),
      this.#tip.time,
      this.chainId,
      true,
    );
    return parseResult(await this.#invoke(contract, fn, args, stub, identity, false)) as T;
  }

  async transaction(txId: string): Promise<StoredTransaction | undefined> {
    this.#checkOpen();
    if (!/^[0-9a-f]{64}$/.test(txId)) return undefined;
    const number = await this.#txs.get(txId);
    if (number === undefined) return undefined;
    const block = await this.#readBlock(Number(number));
    if (!block)
      throw new LedgerError('LEDGER_CORRUPTED', `transaction index names missing block ${number}`);
    const txIndex = block.txs.findIndex((tx) => tx.header.txId === txId);
    const stored = block.txs[txIndex];
    if (!stored)
      throw new LedgerError('LEDGER_CORRUPTED', `block ${number} lacks transaction ${txId}`);
    return {
      header: stored.header,
      args: stored.args,
      result: parseResult(stored.result),
      blockNumber: block.header.number,
      txIndex,
      txPath: [],
      block: { header: block.header, signature: block.signature },
    };
  }

  /** A signed block header by number, for anchors and cross-checks. */
  async blockHeader(number: number): Promise<SignedBlockHeader | undefined> {
    const block = await this.#readBlock(number);
    return block ? { header: block.header, signature: block.signature } : undefined;
  }

  async info(): Promise<ChainInfo> {
    this.#checkOpen();
    return {
      kind: 'embedded',
      chainId: this.chainId,
      height: this.#tip.number + 1,
      tipHash: this.#tip.hash,
      tipTime: this.#tip.time,
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
          ...(this.#operator ? { operator: this.#operator } : {}),
          keys: [{ keyId: this.#key.keyId, algorithm: 'ed25519', publicKey: this.#key.publicKey }],
        },
      ],
    };
  }

  /**
   * Verifies the whole chain from block 0: each header's hash chain, data hash and signature.
   * Returns the number of blocks checked.
   * @throws LedgerError `LEDGER_CORRUPTED` at the first bad block.
   */
  async verifyChain(): Promise<number> {
    let previous: Digest | null = null;
    let count = 0;
    for await (const [key, value] of this.#blocks.iterator()) {
      const block = JSON.parse(value) as StoredBlock;
      if (key !== blockKey(count)) throw corrupted(`block ${count} is missing`);
      checkBlock(block, count, previous, this.#key, this.chainId);
      previous = blockHash(block.header);
      count++;
    }
    if (count !== this.#tip.number + 1 || previous !== this.#tip.hash) {
      throw corrupted(`tip record (${this.#tip.number}) does not match the blocks (${count - 1})`);
    }
    return count;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#queue.catch(() => undefined);
    await this.#db.close();
  }

  #checkOpen(): void {
    if (this.#closed) throw new LedgerError('LEDGER_CLOSED', 'the ledger is closed');
  }

  /** Runs `work` after every earlier submission: one block at a time. */
  #serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(work, work);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** Chain time never goes backwards, even if the wall clock does. */
  #nextTime(): string {
    const now = this.#clock();
    const last = Date.parse(this.#tip.time);
    return new Date(Math.max(now, last)).toISOString();
  }

  #reader(): StateReader {
    return {
      get: async (key) => {
        const raw = await this.#state.get(key);
        return raw === undefined ? undefined : (JSON.parse(raw) as { v: string }).v;
      },
      history: async (key) => {
        const entries: Array<{ txId: string; time: string; value: string | null }> = [];
        for await (const hkey of this.#history.keys({ gt: `${key}\x00`, lt: `${key}\x01` })) {
          const number = parseInt(hkey.slice(key.length + 1), 16);
          const block = await this.#readBlock(number);
          for (const tx of block?.txs ?? []) {
            const write = tx.writes.find((w) => w.key === key);
            if (write)
              entries.push({ txId: tx.header.txId, time: tx.header.time, value: write.value });
          }
        }
        return entries;
      },
    };
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
      if (isEvidenceError(error)) throw error;
      const parsed = parseWireError(String((error as Error)?.message ?? error));
      if (parsed) throw parsed;
      throw new EvidenceError(
        'INTERNAL',
        `chaincode failed: ${String((error as Error)?.message ?? error)}`,
      );
    }
  }

  async #commit(tx: StoredTx): Promise<StoredBlock> {
    const number = this.#tip.number + 1;
    const header: BlockHeader = {
      type: 'block',
      chainId: this.chainId,
      number,
      previousHash: this.#tip.hash,
      dataHash: formatDigest('sha256', rootOf([txLeafHash(tx.header)])),
      txCount: 1,
      time: tx.header.time,
    };
    const block: StoredBlock = {
      header,
      signature: this.#key.sign(blockSigningBytes(header)),
      txs: [tx],
    };
    const tip: Tip = { number, hash: blockHash(header), time: header.time };
    const operations: Array<{
      type: 'put' | 'del';
      sublevel: unknown;
      key: string;
      value?: string;
    }> = [
      { type: 'put', sublevel: this.#blocks, key: blockKey(number), value: JSON.stringify(block) },
      { type: 'put', sublevel: this.#txs, key: tx.header.txId, value: String(number) },
      { type: 'put', sublevel: this.#meta, key: 'tip', value: JSON.stringify(tip) },
    ];
    for (const write of tx.writes) {
      operations.push(
        write.value === null
          ? { type: 'del', sublevel: this.#state, key: write.key }
          : {
              type: 'put',
              sublevel: this.#state,
              key: write.key,
              value: JSON.stringify({ v: write.value, b: number }),
            },
      );
      operations.push({
        type: 'put',
        sublevel: this.#history,
        key: `${write.key}\x00${blockKey(number)}`,
        value: '',
      });
    }
    try {
      await this.#db.batch(operations as never, { sync: true });
    } catch (error) {
      throw storageError(error);
    }
    this.#tip = tip;
    return block;
  }

  async #readBlock(number: number): Promise<StoredBlock | undefined> {
    const raw = await this.#blocks.get(blockKey(number));
    return raw === undefined ? undefined : (JSON.parse(raw) as StoredBlock);
  }
}

function corrupted(message: string): LedgerError {
  return new LedgerError(
    'LEDGER_CORRUPTED',
    `the ledger store is corrupted: ${message}. The node refuses to serve it; restore the data directory from a backup.`,
  );
}

/** Checks one stored block against its position, its parent and the node key. */
function checkBlock(
  block: StoredBlock,
  number: number,
  previous: Digest | null,
  key: NodeKey,
  chainId: string,
): void {
  const { header } = block;
  if (header.number !== number || header.chainId !== chainId)
    throw corrupted(`block ${number} has a wrong header`);
  if (number > 0 && header.previousHash !== previous)
    throw corrupted(`block ${number} does not link to block ${number - 1}`);
  if (header.txCount !== block.txs.length)
    throw corrupted(`block ${number} has a wrong transaction count`);
  const dataHash = formatDigest('sha256', rootOf(block.txs.map((tx) => txLeafHash(tx.header))));
  if (dataHash !== header.dataHash)
    throw corrupted(`block ${number} data hash does not match its transactions`);
  const publicKey = publicKeyFromSpki(key.publicKey);
  if (
    !publicKey ||
    block.signature.keyId !== key.keyId ||
    !verifySignature(
      block.signature.algorithm,
      publicKey,
      blockSigningBytes(header),
      block.signature.value,
    )
  ) {
    throw corrupted(`block ${number} signature does not verify with the node key`);
  }
}

/**
 * Opens (or creates) the embedded ledger in `options.dataDir`.
 * @throws LedgerError `LEDGER_CORRUPTED` when the tip block fails its checks;
 *   `LEDGER_UNAVAILABLE` when the store cannot be opened (e.g. locked by another process).
 */
export async function openEmbeddedLedger(
  options: EmbeddedLedgerOptions,
): Promise<Ledger & EmbeddedLedgerExtras> {
  const { key } = await loadOrCreateNodeKey(path.join(options.dataDir, 'node-key.pem'));
  const db = new Level<string, string>(path.join(options.dataDir, 'ledger'), {
    valueEncoding: 'utf8',
  });
  try {
    await db.open();
  } catch (error) {
    const cause = (error as { cause?: Error }).cause;
    throw new LedgerError(
      'LEDGER_UNAVAILABLE',
      `cannot open the ledger store in ${options.dataDir}: ${cause?.message ?? (error as Error).message}`,
      { cause: error },
    );
  }
  try {
    const meta = db.sublevel<string, string>('meta', UTF8);
    const clock = options.clock ?? Date.now;
    const rawChain = await meta.get('chain');
    let chain: ChainMeta;
    let tip: Tip;
    const contracts = options.contracts ?? defaultContracts;
    if (rawChain === undefined) {
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
      const ledger = new EmbeddedLedgerImpl({
        db,
        key,
        chainId,
        tip: { number: -1, hash: null as unknown as Digest, time: chain.createdAt },
        operator: options.operator,
        clock,
        contracts,
      });
      await writeGenesis(db, key, chain);
      tip = JSON.parse((await meta.get('tip')) as string) as Tip;
      void ledger;
    } else {
      chain = JSON.parse(rawChain) as ChainMeta;
      if (chain.keyId !== key.keyId) {
        throw corrupted(
          `the node key (${key.keyId}) is not the key this chain was created with (${chain.keyId})`,
        );
      }
      if (options.chainId && options.chainId !== chain.chainId) {
        throw new LedgerError(
          'LEDGER_UNAVAILABLE',
          `configured chain id ${options.chainId} differs from the stored chain id ${chain.chainId}`,
        );
      }
      const rawTip = await meta.get('tip');
      if (rawTip === undefined) throw corrupted('the tip record is missing');
      tip = JSON.parse(rawTip) as Tip;
      await checkTip(db, tip, key, chain.chainId);
    }
    return new EmbeddedLedgerImpl({
      db,
      key,
      chainId: chain.chainId,
      tip,
      operator: options.operator,
      clock,
      contracts,
    });
  } catch (error) {
    await db.close().catch(() => undefined);
    throw error;
  }
}

/** Extra operations of the embedded adapter beyond the port. */
export interface EmbeddedLedgerExtras {
  blockHeader(number: number): Promise<SignedBlockHeader | undefined>;
  verifyChain(): Promise<number>;
}

async function writeGenesis(
  db: Level<string, string>,
  key: NodeKey,
  chain: ChainMeta,
): Promise<void> {
  const header0: TxHeader = {
    type: 'tx',
    txId: randomBytes(32).toString('hex'),
    chainId: chain.chainId,
    time: chain.createdAt,
    creator: { mspId: chain.org, id: 'node', role: 'admin' },
    contract: SYSTEM_CONTRACT,
    fn: 'genesis',
    argsDigest: valueDigest([chain.chainId, chain.org, chain.keyId]),
    resultDigest: valueDigest(null),
    writesDigest: valueDigest([]),
    eventsDigest: valueDigest(null),
  };
  const tx: StoredTx = {
    header: header0,
    args: [chain.chainId, chain.org, chain.keyId],
    result: 'null',
    writes: [],
    event: null,
  };
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

/** The start-up integrity check: the tip block and its link to its parent. */
async function checkTip(
  db: Level<string, string>,
  tip: Tip,
  key: NodeKey,
  chainId: string,
): Promise<void> {
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
  if (parent) checkBlock(parent, tip.number - 1, parent.header.previousHash, key, chainId);
  checkBlock(block, tip.number, parent ? blockHash(parent.header) : null, key, chainId);
  if (blockHash(block.header) !== tip.hash)
    throw corrupted('the tip hash does not match the tip block');
  const next = await blocks.get(blockKey(tip.number + 1));
  if (next !== undefined) throw corrupted(`a block exists past the recorded tip ${tip.number}`);
}
