/**
 * Receipts: from a committed batch, or later from the chain alone. A receipt carries the record as
 * committed, its RFC 9162 inclusion path to the batch root, and the transaction header, result,
 * path into the block and the signed block header that core/verify.ts checks offline.
 *
 * Everything read back from the ledger is checked against what it must be (the transaction is
 * `evidence.depositBatch`, its arguments rebuild the root it returned, the leaf holds the digest
 * asked for); a ledger that answers otherwise is reported as `LEDGER_CORRUPTED`, never turned into
 * a receipt that would fail verification in a courtroom.
 */

import { buildBatch, type Batch, type BatchArgs, type BatchResult } from '../core/batch';
import type { Digest } from '../core/digest';
import { LedgerError, isEvidenceError } from '../core/errors';
import { primaryDigest, type Depositor } from '../core/evidence';
import type { EvidenceState, Placement } from '../core/evidence-state';
import { RECEIPT_TYPE, type Receipt } from '../core/receipt';
import type {
  CallOptions,
  Committed,
  Ledger,
  LedgerIdentity,
  StoredTransaction,
} from './ledger/ledger';

export const EVIDENCE_CONTRACT = 'evidence';

/** Who asks for a receipt: their own attestation is preferred over the first deposit. */
export interface ReceiptRequester extends Depositor {
  readonly role: string;
}

/** Receipts of one deposit transaction, in leaf order. */
export interface TransactionReceipts {
  readonly txId: string;
  readonly blockNumber: number;
  readonly receipts: Receipt[];
}

export interface Receipts {
  /**
   * The receipts of `batch`'s records once `committed` (its transaction) is durable: the stored
   * transaction is read back and checked once; the returned function builds the receipt of leaf
   * `index` when asked (a caller that answers without receipts builds none).
   * @throws LedgerError `LEDGER_CORRUPTED` when the stored transaction does not match the batch.
   */
  forBatch(batch: Batch, committed: Committed): Promise<(index: number) => Receipt>;
  /**
   * The receipt of `digest`: the requester's own placement (first deposit or attestation) when
   * they made one, else the first deposit. `undefined` when the digest is not on chain.
   * @throws LedgerError `LEDGER_CORRUPTED` when the chain's data does not assemble into a receipt.
   */
  receiptFor(digest: Digest, requester?: ReceiptRequester): Promise<Receipt | undefined>;
  /**
   * The receipts of deposit transaction `txId`, in leaf order: of the records `requester`
   * deposited in it, or of all its records when `all` (courts, admins). `undefined` when there is
   * no such transaction, or it is not a deposit.
   * @throws LedgerError `LEDGER_CORRUPTED` when the transaction does not assemble into receipts.
   */
  receiptsOf(
    txId: string,
    requester: ReceiptRequester,
    all: boolean,
  ): Promise<TransactionReceipts | undefined>;
}

export interface ReceiptsOptions {
  /** Identity for reads made on nobody's behalf. */
  readonly gatewayIdentity: LedgerIdentity;
  /** Per-call options (a deadline), asked for at each call. */
  readonly callOptions?: () => CallOptions;
}

/** The ledger identity of a requester. */
export function identityOf(requester: ReceiptRequester): LedgerIdentity {
  return { mspId: requester.org, id: requester.account, role: requester.role };
}

/** Where the receipt of `who` sits: their own deposit or attestation, else the first deposit. */
export function placementFor(state: EvidenceState, who?: Depositor): Placement {
  if (!who || sameDepositor(state.record.depositor, who)) return state;
  return state.attestations.find((a) => sameDepositor(a.record.depositor, who)) ?? state;
}

function sameDepositor(a: Depositor, b: Depositor): boolean {
  return a.org === b.org && a.account === b.account;
}

function corrupted(message: string, cause?: unknown): LedgerError {
  return new LedgerError('LEDGER_CORRUPTED', message, cause === undefined ? undefined : { cause });
}

/**
 * The receipt of leaf `leafIndex` of `batch`, committed by `stored`.
 * Requires `stored` to be the transaction that committed `batch` (see {@link checkTransaction}).
 */
export function receiptAt(batch: Batch, leafIndex: number, stored: StoredTransaction): Receipt {
  const record = batch.records[leafIndex];
  if (record === undefined)
    throw corrupted(`leaf ${leafIndex} is not in a batch of ${batch.records.length}`);
  const { header } = stored;
  return {
    type: RECEIPT_TYPE,
    version: 1,
    record,
    inclusion: {
      leafIndex,
      treeSize: batch.records.length,
      root: batch.root,
      path: batch.tree.inclusionProof(leafIndex).map((hash) => hash.toString('hex')),
    },
    ledger: {
      kind: 'embedded',
      chainId: header.chainId,
      txId: header.txId,
      blockNumber: stored.blockNumber,
      time: header.time,
    },
    proof: {
      kind: 'embedded',
      tx: header,
      result: { root: batch.root, size: batch.records.length },
      txIndex: stored.txIndex,
      txPath: stored.txPath,
      block: stored.block,
    },
  };
}

/**
 * Checks that `stored` is an `evidence.depositBatch` that returned `batch`'s root and size.
 * @throws LedgerError `LEDGER_CORRUPTED` otherwise.
 */
export function checkTransaction(batch: Batch, stored: StoredTransaction): void {
  const { header } = stored;
  if (header.contract !== EVIDENCE_CONTRACT || header.fn !== 'depositBatch') {
    throw corrupted(`transaction ${header.txId} is ${header.contract}.${header.fn}, not a deposit`);
  }
  const result = stored.result as Partial<BatchResult> | null;
  if (!result || result.root !== batch.root || result.size !== batch.records.length) {
    throw corrupted(`transaction ${header.txId} returned another batch root or size`);
  }
  if (stored.blockNumber !== stored.block.header.number) {
    throw corrupted(
      `transaction ${header.txId} names block ${stored.blockNumber} but carries another`,
    );
  }
}

/**
 * Rebuilds the batch a deposit transaction committed, from its arguments.
 * @throws LedgerError `LEDGER_CORRUPTED` when the arguments are not a batch with the stated root.
 */
export function batchOfTransaction(stored: StoredTransaction): Batch {
  const text = stored.args[0];
  let args: BatchArgs;
  try {
    args = JSON.parse(text ?? '') as BatchArgs;
  } catch (error) {
    throw corrupted(`transaction ${stored.header.txId} has arguments that are not JSON`, error);
  }
  let batch: Batch;
  try {
    batch = buildBatch(args.records);
  } catch (error) {
    const code = isEvidenceError(error) ? error.code : 'unknown';
    throw corrupted(
      `transaction ${stored.header.txId} has arguments that are not a batch (${code})`,
      error,
    );
  }
  if (batch.root !== args.root)
    throw corrupted(`transaction ${stored.header.txId} has a root its records do not give`);
  return batch;
}

/** Deposit transactions kept rebuilt: re-deposits of one batch would otherwise rebuild it per item. */
const CACHED_BATCHES = 32;

interface Rebuilt {
  readonly stored: StoredTransaction;
  readonly batch: Batch;
}

class ReceiptsImpl implements Receipts {
  readonly #ledger: Ledger;
  readonly #options: ReceiptsOptions;
  /** Committed transactions never change, so what was rebuilt from one stays right. */
  readonly #rebuilt = new Map<string, Promise<Rebuilt>>();

  constructor(ledger: Ledger, options: ReceiptsOptions) {
    this.#ledger = ledger;
    this.#options = options;
  }

  async forBatch(batch: Batch, committed: Committed): Promise<(index: number) => Receipt> {
    const stored = await this.#ledger.transaction(committed.txId);
    if (!stored) throw corrupted(`committed transaction ${committed.txId} cannot be read back`);
    checkTransaction(batch, stored);
    this.#remember(committed.txId, Promise.resolve({ stored, batch }));
    return (index) => receiptAt(batch, index, stored);
  }

  async receiptFor(digest: Digest, requester?: ReceiptRequester): Promise<Receipt | undefined> {
    const identity = requester ? identityOf(requester) : this.#options.gatewayIdentity;
    const state = await this.#ledger.evaluate<EvidenceState | null>(
      EVIDENCE_CONTRACT,
      'readEvidence',
      [digest],
      identity,
      this.#options.callOptions?.(),
    );
    if (!state) return undefined;
    const placement = placementFor(state, requester);
    const { stored, batch } = await this.#rebuild(placement.txId);
    const record = batch.records[placement.leafIndex];
    if (
      record === undefined ||
      batch.records.length !== placement.batchSize ||
      batch.root !== placement.batchRoot ||
      primaryDigest(record) !== digest
    ) {
      throw corrupted(`transaction ${placement.txId} does not hold ${digest} where the state says`);
    }
    return receiptAt(batch, placement.leafIndex, stored);
  }

  async receiptsOf(
    txId: string,
    requester: ReceiptRequester,
    all: boolean,
  ): Promise<TransactionReceipts | undefined> {
    let rebuilt: Rebuilt;
    if (this.#rebuilt.has(txId)) {
      rebuilt = await this.#rebuild(txId);
    } else {
      const stored = await this.#ledger.transaction(txId);
      const { header } = stored ?? {};
      if (!stored || header?.contract !== EVIDENCE_CONTRACT || header.fn !== 'depositBatch')
        return undefined;
      rebuilt = await this.#rebuild(txId, stored);
    }
    const { stored, batch } = rebuilt;
    const receipts: Receipt[] = [];
    batch.records.forEach((record, index) => {
      if (all || sameDepositor(record.depositor, requester))
        receipts.push(receiptAt(batch, index, stored));
    });
    return { txId, blockNumber: stored.blockNumber, receipts };
  }

  /**
   * The deposit transaction `txId` (`stored` when it was read already) and the batch its
   * arguments hold, checked against each other.
   */
  #rebuild(txId: string, stored?: StoredTransaction): Promise<Rebuilt> {
    const cached = this.#rebuilt.get(txId);
    if (cached) {
      this.#rebuilt.delete(txId);
      this.#rebuilt.set(txId, cached);
      return cached;
    }
    const rebuilding = (async () => {
      const tx = stored ?? (await this.#ledger.transaction(txId));
      if (!tx) throw corrupted(`transaction ${txId} cannot be read`);
      const batch = batchOfTransaction(tx);
      checkTransaction(batch, tx);
      return { stored: tx, batch };
    })();
    this.#remember(txId, rebuilding);
    rebuilding.catch(() => this.#rebuilt.delete(txId));
    return rebuilding;
  }

  #remember(txId: string, rebuilt: Promise<Rebuilt>): void {
    this.#rebuilt.set(txId, rebuilt);
    while (this.#rebuilt.size > CACHED_BATCHES) {
      const oldest = this.#rebuilt.keys().next().value as string;
      this.#rebuilt.delete(oldest);
    }
  }
}

/** Receipts assembled from `ledger`. */
export function createReceipts(ledger: Ledger, options: ReceiptsOptions): Receipts {
  return new ReceiptsImpl(ledger, options);
}
