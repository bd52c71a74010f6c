/**
 * An in-memory Ledger that mimics the `evidence` contract (deposit batches with created / attested
 * / existing outcomes, reads, history, court annotations) on a hash-chained chain of Ed25519-signed
 * blocks, one transaction per block, so the receipts it yields verify with core/verify.ts.
 *
 * Test controls: count submits, delay commits, fail the next submits with a given error, hold
 * submits until released, close. A chaincode error writes nothing, as on a real ledger.
 */

import { randomBytes } from 'node:crypto';
import { buildBatch, type BatchArgs, type BatchResult } from '../../core/batch';
import {
  blockHash,
  blockSigningBytes,
  txLeafHash,
  valueDigest,
  type BlockHeader,
  type SignedBlockHeader,
  type TxHeader,
} from '../../core/block';
import { digestProblem, formatDigest, type Digest } from '../../core/digest';
import {
  AccessError,
  LedgerError,
  StateError,
  ValidationError,
  type EvidenceError,
} from '../../core/errors';
import { primaryDigest, type Depositor } from '../../core/evidence';
import {
  annotationInputSchema,
  type Annotation,
  type AnnotationInput,
  type DepositOutcome,
  type DepositedEvent,
  type EvidenceState,
  type HistoryEntry,
} from '../../core/evidence-state';
import { buildTree } from '../../core/merkle';
import { parseJson, validateOrThrow } from '../../core/schema';
import type { TrustFile } from '../../core/trust';
import type {
  CallOptions,
  ChainInfo,
  ChaincodeEvent,
  Committed,
  Ledger,
  LedgerIdentity,
  StoredTransaction,
} from '../../gateway/ledger/ledger';
import { makeNodeKey, trustFor, type NodeKey } from '../support/receipt-factory';

export interface FakeLedgerOptions {
  readonly chainId?: string;
  /** Milliseconds each submit takes to "commit" (default: one macrotask). */
  readonly commitDelayMs?: number;
  readonly key?: NodeKey;
}

interface Execution {
  readonly result: unknown;
  readonly event: ChaincodeEvent | undefined;
  readonly writes: ReadonlyArray<readonly [Digest, EvidenceState]>;
}

interface Call {
  readonly contract: string;
  readonly fn: string;
  readonly args: readonly string[];
  readonly identity: LedgerIdentity;
}

export class FakeLedger implements Ledger {
  readonly kind = 'embedded' as const;
  readonly chainId: string;
  /** Every submit attempted, in order. */
  readonly submits: Call[] = [];
  /** Every evaluate, in order. */
  readonly evaluates: Call[] = [];
  /** Transaction ids whose submit has resolved (the durable ones). */
  readonly resolved = new Set<string>();
  commitDelayMs: number;

  readonly #key: NodeKey;
  readonly #state = new Map<Digest, EvidenceState>();
  readonly #history = new Map<Digest, HistoryEntry[]>();
  readonly #txs = new Map<string, StoredTransaction>();
  readonly #blocks: SignedBlockHeader[] = [];
  readonly #failures: EvidenceError[] = [];
  #queue: Promise<unknown> = Promise.resolve();
  #hold: Promise<void> | undefined;
  #release: (() => void) | undefined;
  #lastTime = 0;
  #closed = false;

  constructor(options: FakeLedgerOptions = {}) {
    this.chainId = options.chainId ?? 'fake-chain';
    this.commitDelayMs = options.commitDelayMs ?? 0;
    this.#key = options.key ?? makeNodeKey();
    const genesis = {
      contract: '_system',
      fn: 'genesis',
      args: [],
      identity: { mspId: 'NodeOrg', id: 'node', role: 'admin' },
    };
    this.#appendBlock(
      this.#header(genesis, randomBytes(32).toString('hex'), this.#nextTime(), null, undefined, []),
    );
  }

  /** The next `count` submits fail with `error` (nothing is written). */
  failNext(error: EvidenceError, count = 1): void {
    for (let i = 0; i < count; i++) this.#failures.push(error);
  }

  /** Submits wait (before executing) until {@link releaseSubmits}. */
  holdSubmits(): void {
    this.#hold ??= new Promise<void>((resolve) => {
      this.#release = resolve;
    });
  }

  releaseSubmits(): void {
    this.#release?.();
    this.#hold = undefined;
    this.#release = undefined;
  }

  submit<T = unknown>(
    contract: string,
    fn: string,
    args: readonly string[],
    identity: LedgerIdentity,
    options?: CallOptions,
  ): Promise<Committed<T>> {
    const call = { contract, fn, args: [...args], identity };
    this.submits.push(call);
    const run = this.#queue.then(async () => {
      if (this.#hold) await this.#hold;
      this.#checkOpen();
      if (options?.deadline !== undefined && Date.now() > options.deadline) {
        throw new LedgerError('LEDGER_TIMEOUT', 'deadline passed');
      }
      const failure = this.#failures.shift();
      if (failure) throw failure;
      const txId = randomBytes(32).toString('hex');
      const time = this.#nextTime();
      const execution = this.#execute(call, txId, time);
      const headerWithIds = this.#header(
        call,
        txId,
        time,
        execution.result,
        execution.event,
        execution.writes,
      );
      // The commit takes time; the state and block appear when it is durable.
      await new Promise((resolve) => setTimeout(resolve, this.commitDelayMs));
      this.#checkOpen();
      const block = this.#appendBlock(headerWithIds);
      const iso = headerWithIds.time;
      for (const [digest, state] of execution.writes) {
        this.#state.set(digest, state);
        const entries = this.#history.get(digest) ?? [];
        entries.push({ txId, time: iso, isDelete: false, value: state });
        this.#history.set(digest, entries);
      }
      this.#txs.set(txId, {
        header: headerWithIds,
        args: [...args],
        result: execution.result,
        blockNumber: block.header.number,
        txIndex: 0,
        txPath: [],
        block,
      });
      this.resolved.add(txId);
      return {
        txId,
        blockNumber: block.header.number,
        time: iso,
        result: execution.result as T,
        event: execution.event,
      };
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async evaluate<T = unknown>(
    contract: string,
    fn: string,
    args: readonly string[],
    identity: LedgerIdentity,
  ): Promise<T> {
    this.evaluates.push({ contract, fn, args: [...args], identity });
    this.#checkOpen();
    if (contract !== 'evidence') throw new StateError('NOT_FOUND', `no contract ${contract}`);
    switch (fn) {
      case 'readEvidence':
        return (this.#state.get(checkDigest(args[0])) ?? null) as T;
      case 'evidenceHistory':
        return [...(this.#history.get(checkDigest(args[0])) ?? [])] as T;
      default:
        throw new StateError('NOT_FOUND', `evidence.${fn} cannot be evaluated`);
    }
  }

  async transaction(txId: string): Promise<StoredTransaction | undefined> {
    this.#checkOpen();
    return this.#txs.get(txId);
  }

  async info(): Promise<ChainInfo> {
    this.#checkOpen();
    const tip = this.#blocks[this.#blocks.length - 1] as SignedBlockHeader;
    return {
      kind: 'embedded',
      chainId: this.chainId,
      height: this.#blocks.length,
      tipHash: blockHash(tip.header),
      tipTime: tip.header.time,
    };
  }

  trust(): TrustFile {
    return trustFor(this.chainId, this.#key, 'Fake ledger');
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.releaseSubmits();
  }

  #checkOpen(): void {
    if (this.#closed) throw new LedgerError('LEDGER_CLOSED', 'the ledger is closed');
  }

  #nextTime(): number {
    this.#lastTime = Math.max(Date.now(), this.#lastTime + 1);
    return this.#lastTime;
  }

  #header(
    call: Call,
    txId: string,
    time: number,
    result: unknown,
    event: ChaincodeEvent | undefined,
    writes: Execution['writes'],
  ): TxHeader {
    const { contract, fn, args, identity } = call;
    return {
      type: 'tx',
      txId,
      chainId: this.chainId,
      time: new Date(time).toISOString(),
      creator: { mspId: identity.mspId, id: identity.id, role: identity.role },
      contract,
      fn,
      argsDigest: valueDigest([...args]),
      resultDigest: valueDigest(result),
      writesDigest: valueDigest(writes.map(([digest, state]) => ({ key: digest, value: state }))),
      eventsDigest: valueDigest(event ?? null),
    };
  }

  #appendBlock(tx: TxHeader): SignedBlockHeader {
    const parent = this.#blocks[this.#blocks.length - 1];
    const header: BlockHeader = {
      type: 'block',
      chainId: this.chainId,
      number: this.#blocks.length,
      previousHash: parent ? blockHash(parent.header) : null,
      dataHash: formatDigest('sha256', buildTree([txLeafHash(tx)]).root),
      txCount: 1,
      time: tx.time,
    };
    const signature = this.#key.sign(blockSigningBytes(header));
    const block: SignedBlockHeader = {
      header,
      signature: { algorithm: this.#key.algorithm, keyId: this.#key.keyId, value: signature },
    };
    this.#blocks.push(block);
    return block;
  }

  /** The contract: computes result, event and writes without applying them. */
  #execute(call: Call, txId: string, time: number): Execution {
    const iso = new Date(time).toISOString();
    if (call.contract !== 'evidence')
      throw new StateError('NOT_FOUND', `no contract ${call.contract}`);
    switch (call.fn) {
      case 'depositBatch':
        return this.#depositBatch(call, txId, iso);
      case 'annotate':
        return this.#annotate(call, txId, iso);
      default:
        throw new StateError('NOT_FOUND', `evidence.${call.fn} cannot be submitted`);
    }
  }

  #depositBatch(call: Call, txId: string, time: string): Execution {
    const args = parseJson(call.args[0] ?? '', 'batch') as BatchArgs;
    if (typeof args !== 'object' || args === null || !Array.isArray(args.records)) {
      throw new ValidationError('VALIDATION_FAILED', 'batch is invalid', [
        { path: '/records', rule: 'type', message: 'must be array' },
      ]);
    }
    const batch = buildBatch(args.records);
    if (batch.root !== args.root) {
      throw new ValidationError('BATCH_ROOT_MISMATCH', 'root does not match the records', [
        { path: '/root', rule: 'batchRoot', message: `records give ${batch.root}` },
      ]);
    }
    const placement = { txId, time, batchRoot: batch.root, batchSize: batch.records.length };
    const writes: Array<[Digest, EvidenceState]> = [];
    const outcomes: DepositOutcome[] = batch.records.map((record, leafIndex) => {
      const digest = primaryDigest(record);
      const existing = this.#state.get(digest);
      if (!existing) {
        writes.push([
          digest,
          { type: 'evidence', record, ...placement, leafIndex, attestations: [], annotations: [] },
        ]);
        return 'created';
      }
      const same = (d: Depositor) =>
        d.org === record.depositor.org && d.account === record.depositor.account;
      if (
        same(existing.record.depositor) ||
        existing.attestations.some((a) => same(a.record.depositor))
      ) {
        return 'existing';
      }
      writes.push([
        digest,
        {
          ...existing,
          attestations: [...existing.attestations, { record, ...placement, leafIndex }],
        },
      ]);
      return 'attested';
    });
    const result: BatchResult = { root: batch.root, size: batch.records.length };
    const payload: DepositedEvent = { root: batch.root, outcomes };
    return { result, event: { name: 'EvidenceDeposited', payload }, writes };
  }

  #annotate(call: Call, txId: string, time: string): Execution {
    if (call.identity.role !== 'court') {
      throw new AccessError(
        'FORBIDDEN',
        `annotating needs role court, caller has "${call.identity.role}"`,
      );
    }
    const digest = checkDigest(call.args[0]);
    const input = validateOrThrow<AnnotationInput>(
      annotationInputSchema,
      parseJson(call.args[1] ?? '', 'annotation'),
      'annotation',
    );
    const existing = this.#state.get(digest);
    if (!existing) throw new StateError('EVIDENCE_NOT_FOUND', `no evidence with digest ${digest}`);
    const annotation: Annotation = {
      ...input,
      by: { org: call.identity.mspId, account: call.identity.id },
      txId,
      time,
    };
    return {
      result: annotation,
      event: undefined,
      writes: [[digest, { ...existing, annotations: [...existing.annotations, annotation] }]],
    };
  }
}

function checkDigest(value: string | undefined): Digest {
  const problem = digestProblem(value, '/digest');
  if (problem) throw new ValidationError('VALIDATION_FAILED', problem.message, [problem]);
  if (!(value as string).startsWith('sha256:')) {
    throw new ValidationError('VALIDATION_FAILED', 'records are keyed by their sha256 digest', [
      { path: '/digest', rule: 'digestPrimary', message: 'use the sha256 digest' },
    ]);
  }
  return value as Digest;
}

/** A fresh fake ledger. */
export function openFakeLedger(options: FakeLedgerOptions = {}): FakeLedger {
  return new FakeLedger(options);
}
