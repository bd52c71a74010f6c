/**
 * What the evidence routes do, without HTTP: validate items, stamp the caller as depositor, group
 * deposits into ledger transactions, and turn committed batches into receipts. Reads and
 * annotations go straight to the ledger as the caller's identity.
 */

import { batchArgsText, buildBatch, type Batch, type BatchResult } from '../core/batch';
import { canonicalJson } from '../core/canonical';
import type { Digest } from '../core/digest';
import { LedgerError, ValidationError, type FieldError } from '../core/errors';
import {
  evidenceItemErrors,
  primaryDigest,
  type EvidenceItem,
  type EvidenceRecord,
} from '../core/evidence';
import type {
  Annotation,
  AnnotationInput,
  DepositOutcome,
  DepositedEvent,
  EvidenceState,
  HistoryEntry,
} from '../core/evidence-state';
import type { Receipt } from '../core/receipt';
import type { TrustFile } from '../core/trust';
import type { KeyRotationProofs } from '../core/trust-update';
import type { Principal } from './auth/api-keys';
import { createGroupCommit, type GroupCommit } from './group-commit';
import { toHttpError } from './http-errors';
import {
  readOnlyReplica,
  type CallOptions,
  type ChainInfo,
  type Committed,
  type Ledger,
  type LedgerIdentity,
} from './ledger/ledger';
import type { DepositMetrics } from './metrics';
import {
  createReceipts,
  EVIDENCE_CONTRACT,
  identityOf,
  placementFor,
  type Receipts,
  type TransactionReceipts,
} from './receipts';

/** Outcome of one deposit, as the API reports it. */
export interface Deposited {
  readonly status: DepositOutcome;
  readonly digest: Digest;
  readonly receipt: Receipt;
}

/**
 * A durable deposit acknowledged without its receipt (`receipts: false`): the receipt is the one
 * `GET /v1/evidence/:digest/receipt` gives the same caller later, byte for byte.
 */
export interface Acknowledged {
  readonly status: DepositOutcome;
  readonly digest: Digest;
  /** The transaction that holds the caller's placement (for `existing`, the first one). */
  readonly txId: string;
}

/** How a deposit is answered. */
export interface DepositOptions {
  /** With receipts (default), or acknowledgements only: the cheap answer for bulk depositors. */
  readonly receipts?: boolean;
}

/** One entry of a batch response: the deposit, or why this item was refused. */
export type ItemResult =
  | ({ readonly index: number } & (Deposited | Acknowledged))
  | {
      readonly index: number;
      readonly error: {
        readonly code: string;
        readonly message: string;
        readonly fields?: readonly FieldError[];
      };
    };

/** What anyone may learn about a digest without an API key. */
export interface PublicEvidence {
  readonly digest: Digest;
  readonly onChain: true;
  readonly time: string;
  readonly txId: string;
  readonly chainId: string;
  readonly attestations: number;
}

export interface EvidenceService {
  /** Deposits admitted and waiting for their transaction (not counting those in flight). */
  readonly waiting: number;
  /** Deposit transactions submitted and not settled yet. */
  readonly inFlight: number;
  /** See {@link GroupCommit.announce}: call when a deposit request starts. */
  announce(): () => void;
  /**
   * Deposits one item as `principal`; resolves once durable.
   * @throws ValidationError `VALIDATION_FAILED` naming every bad field (pointers under `path`);
   *   LedgerError `OVERLOADED`, `LEDGER_*`; chaincode errors with their codes.
   */
  deposit(item: unknown, principal: Principal, path?: string): Promise<Deposited>;
  /**
   * Deposits many items as `principal`; each is validated and reported on its own. Field pointers
   * are `/items/<index>/...`.
   * With `options.receipts` false, each result is an {@link Acknowledged} instead of a receipt.
   * @throws LedgerError `OVERLOADED` or `LEDGER_CLOSED` when the items cannot be admitted at all.
   */
  depositMany(
    items: readonly unknown[],
    principal: Principal,
    options?: DepositOptions,
  ): Promise<ItemResult[]>;
  read(digest: Digest, principal: Principal): Promise<EvidenceState | undefined>;
  /** The key's history, or `undefined` when the digest was never deposited. */
  history(digest: Digest, principal: Principal): Promise<readonly HistoryEntry[] | undefined>;
  receipt(digest: Digest, principal: Principal): Promise<Receipt | undefined>;
  /**
   * The receipts of deposit transaction `txId` (what `?receipts=none` acknowledged): of the
   * records `principal` deposited in it, or all of them with `options.all`; `undefined` when there
   * is no such deposit transaction or none of them is asked for.
   */
  transactionReceipts(
    txId: string,
    principal: Principal,
    options: { readonly all: boolean },
  ): Promise<TransactionReceipts | undefined>;
  /** @throws chaincode errors: `FORBIDDEN` (not a court), `EVIDENCE_NOT_FOUND`, `VALIDATION_FAILED`. */
  annotate(digest: Digest, input: AnnotationInput, principal: Principal): Promise<Annotation>;
  publicFacts(digest: Digest): Promise<PublicEvidence | undefined>;
  info(): Promise<ChainInfo>;
  trust(): TrustFile;
  /** The chain's node key rotations with their proofs, oldest first (none on Fabric). */
  keyRotations(): Promise<KeyRotationProofs>;
  /** True when the ledger answers and deposits are admitted. */
  ready(): Promise<boolean>;
  /** Stops admitting deposits and waits for those already admitted. Does not close the ledger. */
  close(): Promise<void>;
}

export interface EvidenceServiceOptions {
  readonly ledger: Ledger;
  /** The node's organisation: batches are submitted as `{ mspId: org, id: 'gateway' }`. */
  readonly org: string;
  readonly groupCommitMax: number;
  readonly groupCommitDelayMs: number;
  readonly submitTimeoutMs: number;
  /** Deposits allowed to wait; default 50,000. */
  readonly maxQueued?: number;
  /**
   * Deposit transactions submitted at once; default {@link DEFAULT_COMMITS_IN_FLIGHT}. The ledger
   * orders them; with two, the embedded ledger executes one while the other is being synced.
   */
  readonly commitsInFlight?: number;
  /** Where failures of the node (not of the input) in batch results are reported. */
  readonly onInternalError?: (error: unknown) => void;
  /** Where deposit transactions and refused batch items are counted. */
  readonly metrics?: DepositMetrics;
}

/** A committed record: its outcome, and its receipt built only when someone asks for it. */
interface Committing {
  readonly outcome: DepositOutcome;
  readonly txId: string;
  readonly record: EvidenceRecord;
  receipt(): Receipt;
}

export const DEFAULT_MAX_QUEUED = 50_000;
export const DEFAULT_COMMITS_IN_FLIGHT = 2;
const OUTCOMES: readonly string[] = ['created', 'attested', 'existing'];
/** Extra time the group-commit safety net gives the ledger past its own deadline. */
const TIMEOUT_GRACE_MS = 5_000;

function outcomesOf(committed: Committed, batch: Batch): DepositOutcome[] {
  const result = committed.result as Partial<BatchResult> | null;
  const event = committed.event;
  let payload: unknown = event?.payload;
  try {
    if (payload instanceof Uint8Array) payload = Buffer.from(payload).toString('utf8');
    if (typeof payload === 'string') payload = JSON.parse(payload) as unknown;
  } catch {
    payload = undefined;
  }
  const deposited = payload as Partial<DepositedEvent> | undefined;
  const outcomes = deposited?.outcomes;
  if (
    event?.name !== 'EvidenceDeposited' ||
    result?.root !== batch.root ||
    deposited?.root !== batch.root ||
    !Array.isArray(outcomes) ||
    outcomes.length !== batch.records.length ||
    !outcomes.every((outcome) => OUTCOMES.includes(outcome as string))
  ) {
    throw new LedgerError(
      'LEDGER_CORRUPTED',
      `deposit ${committed.txId} did not report its batch as expected`,
    );
  }
  return outcomes as DepositOutcome[];
}

class EvidenceServiceImpl implements EvidenceService {
  readonly #ledger: Ledger;
  readonly #receipts: Receipts;
  readonly #batcher: GroupCommit<EvidenceRecord, Committing>;
  readonly #gateway: LedgerIdentity;
  readonly #callOptions: () => CallOptions;
  readonly #onInternalError: (error: unknown) => void;
  readonly #metrics: DepositMetrics | undefined;
  #closed = false;

  constructor(options: EvidenceServiceOptions) {
    this.#ledger = options.ledger;
    this.#gateway = { mspId: options.org, id: 'gateway', role: 'gateway' };
    this.#callOptions = () => ({ deadline: Date.now() + options.submitTimeoutMs });
    this.#onInternalError = options.onInternalError ?? (() => undefined);
    this.#metrics = options.metrics;
    this.#receipts = createReceipts(options.ledger, {
      gatewayIdentity: this.#gateway,
      callOptions: this.#callOptions,
    });
    this.#batcher = createGroupCommit<EvidenceRecord, Committing>({
      maxBatch: options.groupCommitMax,
      delayMs: options.groupCommitDelayMs,
      maxQueued: options.maxQueued ?? DEFAULT_MAX_QUEUED,
      maxInFlight: options.commitsInFlight ?? DEFAULT_COMMITS_IN_FLIGHT,
      keyOf: primaryDigest,
      timeoutMs: options.submitTimeoutMs + TIMEOUT_GRACE_MS,
      commit: (records) => this.#commit(records),
    });
  }

  get waiting(): number {
    return this.#batcher.waiting;
  }

  get inFlight(): number {
    return this.#batcher.inFlight;
  }

  announce(): () => void {
    return this.#batcher.announce();
  }

  async #commit(records: readonly EvidenceRecord[]): Promise<Committing[]> {
    // #record validated every item; the chaincode checks the records again on its side.
    const batch = buildBatch(records, { checked: true });
    const started = performance.now();
    let committed: Committed<BatchResult>;
    try {
      committed = await this.#ledger.submit<BatchResult>(
        EVIDENCE_CONTRACT,
        'depositBatch',
        [batchArgsText(batch)],
        this.#gateway,
        this.#callOptions(),
      );
    } catch (error) {
      this.#metrics?.failed(records.length, (performance.now() - started) / 1000);
      throw error;
    }
    const outcomes = outcomesOf(committed, batch);
    this.#metrics?.committed(records.length, (performance.now() - started) / 1000, outcomes);
    const receiptOf = await this.#receipts.forBatch(batch, committed);
    return outcomes.map((outcome, index) => ({
      outcome,
      txId: committed.txId,
      record: batch.records[index] as EvidenceRecord,
      receipt: () => receiptOf(index),
    }));
  }

  /** The record of a valid item, deposited by `principal`. */
  #record(item: unknown, principal: Principal, path: string): EvidenceRecord {
    const fields = evidenceItemErrors(item, path);
    if (fields.length > 0) {
      throw new ValidationError(
        'VALIDATION_FAILED',
        `evidence item is invalid (${fields.length} problem${fields.length > 1 ? 's' : ''})`,
        fields,
      );
    }
    // Keys in canonical order (`depositor` sorts first), so hashing the record takes the
    // canonical encoder's shortcut; the canonical bytes are the same in any order.
    const record: Record<string, unknown> = {
      depositor: { account: principal.account, org: principal.org },
    };
    for (const key of Object.keys(item as EvidenceItem).sort()) {
      record[key] = (item as Record<string, unknown>)[key];
    }
    return record as unknown as EvidenceRecord;
  }

  /** The API's answer for a committed record: `existing` gets the caller's first receipt. */
  async #deposited(committing: Committing, principal: Principal): Promise<Deposited> {
    const digest = primaryDigest(committing.record);
    if (committing.outcome !== 'existing') {
      return { status: committing.outcome, digest, receipt: committing.receipt() };
    }
    const first = await this.#receipts.receiptFor(digest, principal);
    if (!first) throw new LedgerError('LEDGER_CORRUPTED', `${digest} exists but has no receipt`);
    return { status: 'existing', digest, receipt: first };
  }

  /** The answer without a receipt: `existing` names the transaction of the caller's first deposit. */
  async #acknowledged(committing: Committing, principal: Principal): Promise<Acknowledged> {
    const digest = primaryDigest(committing.record);
    if (committing.outcome !== 'existing') {
      return { status: committing.outcome, digest, txId: committing.txId };
    }
    const state = await this.read(digest, principal);
    if (!state) throw new LedgerError('LEDGER_CORRUPTED', `${digest} exists but cannot be read`);
    return { status: 'existing', digest, txId: placementFor(state, principal).txId };
  }

  /** A replica takes no deposit, valid or not: the source node does (docs/replicas.md). */
  #refuseOnReplica(): void {
    if (this.#ledger.isReplica?.()) throw readOnlyReplica(this.#ledger.chainId);
  }

  async deposit(item: unknown, principal: Principal, path = ''): Promise<Deposited> {
    this.#refuseOnReplica();
    const record = this.#record(item, principal, path);
    const [pending] = this.#batcher.add([record]);
    return this.#deposited(await (pending as Promise<Committing>), principal);
  }

  async depositMany(
    items: readonly unknown[],
    principal: Principal,
    options: DepositOptions = {},
  ): Promise<ItemResult[]> {
    this.#refuseOnReplica();
    const answer =
      options.receipts === false
        ? (committing: Committing) => this.#acknowledged(committing, principal)
        : (committing: Committing) => this.#deposited(committing, principal);
    const results: ItemResult[] = new Array<ItemResult>(items.length);
    const valid: { index: number; record: EvidenceRecord }[] = [];
    items.forEach((item, index) => {
      try {
        valid.push({ index, record: this.#record(item, principal, `/items/${index}`) });
      } catch (error) {
        results[index] = { index, error: this.#itemError(error) };
      }
    });
    const pending = this.#batcher.add(valid.map((entry) => entry.record));
    await Promise.all(
      valid.map(async ({ index }, position) => {
        try {
          const deposited = await answer(await (pending[position] as Promise<Committing>));
          results[index] = { index, ...deposited };
        } catch (error) {
          results[index] = { index, error: this.#itemError(error) };
        }
      }),
    );
    return results;
  }

  #itemError(error: unknown): { code: string; message: string; fields?: readonly FieldError[] } {
    const mapped = toHttpError(error);
    if (mapped.internal) this.#onInternalError(error);
    this.#metrics?.error(mapped.body.code);
    const { code, message, fields } = mapped.body;
    return fields ? { code, message, fields } : { code, message };
  }

  async read(digest: Digest, principal: Principal): Promise<EvidenceState | undefined> {
    const state = await this.#ledger.evaluate<EvidenceState | null>(
      EVIDENCE_CONTRACT,
      'readEvidence',
      [digest],
      identityOf(principal),
      this.#callOptions(),
    );
    return state ?? undefined;
  }

  async history(
    digest: Digest,
    principal: Principal,
  ): Promise<readonly HistoryEntry[] | undefined> {
    const entries = await this.#ledger.evaluate<HistoryEntry[] | null>(
      EVIDENCE_CONTRACT,
      'evidenceHistory',
      [digest],
      identityOf(principal),
      this.#callOptions(),
    );
    return entries && entries.length > 0 ? entries : undefined;
  }

  receipt(digest: Digest, principal: Principal): Promise<Receipt | undefined> {
    return this.#receipts.receiptFor(digest, principal);
  }

  async transactionReceipts(
    txId: string,
    principal: Principal,
    options: { readonly all: boolean },
  ): Promise<TransactionReceipts | undefined> {
    const found = await this.#receipts.receiptsOf(txId, principal, options.all);
    return found && found.receipts.length > 0 ? found : undefined;
  }

  async annotate(
    digest: Digest,
    input: AnnotationInput,
    principal: Principal,
  ): Promise<Annotation> {
    const committed = await this.#ledger.submit<Annotation>(
      EVIDENCE_CONTRACT,
      'annotate',
      [digest, canonicalJson(input)],
      identityOf(principal),
      this.#callOptions(),
    );
    return committed.result;
  }

  async publicFacts(digest: Digest): Promise<PublicEvidence | undefined> {
    const state = await this.#ledger.evaluate<EvidenceState | null>(
      EVIDENCE_CONTRACT,
      'readEvidence',
      [digest],
      this.#gateway,
      this.#callOptions(),
    );
    if (!state) return undefined;
    return {
      digest,
      onChain: true,
      time: state.time,
      txId: state.txId,
      chainId: this.#ledger.chainId,
      attestations: state.attestations.length,
    };
  }

  info(): Promise<ChainInfo> {
    return this.#ledger.info();
  }

  trust(): TrustFile {
    return this.#ledger.trust();
  }

  async keyRotations(): Promise<KeyRotationProofs> {
    return (
      (await this.#ledger.keyRotations?.()) ?? { chainId: this.#ledger.chainId, rotations: [] }
    );
  }

  async ready(): Promise<boolean> {
    if (this.#closed) return false;
    try {
      await this.#ledger.info();
      return true;
    } catch {
      return false;
    }
  }

  close(): Promise<void> {
    this.#closed = true;
    return this.#batcher.close();
  }
}

/** The evidence service over `options.ledger`. */
export function createEvidenceService(options: EvidenceServiceOptions): EvidenceService {
  return new EvidenceServiceImpl(options);
}
