/**
 * The anchor-target side of a node, without HTTP: any node can record other chains' tips with
 * the anchor contract (chaincode/anchor-contract.ts) and read them back.
 *
 * A recorded (or already recorded) anchor is answered with the proof of the transaction that
 * recorded it, read back from this ledger: exactly the `anchorTx` of core's AnchorProof, which
 * the anchoring node stores and later puts into receipts. A refused contradiction is committed
 * by the contract as a fork record and reported here as an AnchorError with its code.
 */

import type {
  AnchorFork,
  AnchorInput,
  AnchorProof,
  AnchorRecord,
  AnchorRejectionCode,
  RecordAnchorResult,
  RecordedAnchorResult,
} from '../core/anchor';
import { ANCHOR_CONTRACT, RECORD_ANCHOR_FN } from '../core/anchor';
import { canonicalJson } from '../core/canonical';
import { AnchorError, LedgerError } from '../core/errors';
import type { Principal } from './auth/api-keys';
import type { CallOptions, Ledger, LedgerIdentity } from './ledger/ledger';
import { identityOf } from './receipts';

/** The proof of an anchor's recording transaction (`anchorTx` of core's AnchorProof). */
export type AnchorTxProofView = AnchorProof['anchorTx'];

export interface RecordedAnchor {
  /** `recorded`: new; `existing`: the identical anchor was on record (its original proof). */
  readonly status: 'recorded' | 'existing';
  readonly anchor: AnchorRecord;
  readonly proof: AnchorTxProofView;
}

/** A refused anchor: what the contract committed instead. */
export interface RefusedAnchor {
  readonly code: AnchorRejectionCode;
  readonly message: string;
  readonly fork: AnchorFork;
}

export interface AnchorSummary {
  readonly sourceChainId: string;
  readonly latest: AnchorRecord;
  /** Fork records kept for the chain. */
  readonly forks: number;
}

export interface AnchorService {
  /**
   * Submits `anchor.recordAnchor` as `principal`.
   * @throws AnchorError `ANCHOR_CONFLICT` / `ANCHOR_REGRESSION` after `onRefused` was told (the
   *   fork record is committed); chaincode errors with their codes (`FORBIDDEN`,
   *   `VALIDATION_FAILED`); LedgerError `LEDGER_CORRUPTED` when the recording transaction
   *   cannot be read back as such.
   */
  record(
    input: AnchorInput,
    principal: Principal,
    onRefused?: (refused: RefusedAnchor) => void,
  ): Promise<RecordedAnchor>;
  /** The latest anchor of `sourceChainId` and its fork count; `undefined` when never anchored. */
  summary(sourceChainId: string): Promise<AnchorSummary | undefined>;
  /**
   * Every fork record of `sourceChainId`, oldest first; `undefined` when never anchored (a fork
   * is recorded only against an anchor on record).
   */
  forks(sourceChainId: string): Promise<readonly AnchorFork[] | undefined>;
}

export interface AnchorServiceOptions {
  readonly ledger: Ledger;
  /** The node's organisation: reads are made as its gateway identity. */
  readonly org: string;
  readonly submitTimeoutMs: number;
}

class AnchorServiceImpl implements AnchorService {
  readonly #ledger: Ledger;
  readonly #gateway: LedgerIdentity;
  readonly #callOptions: () => CallOptions;

  constructor(options: AnchorServiceOptions) {
    this.#ledger = options.ledger;
    this.#gateway = { mspId: options.org, id: 'gateway', role: 'gateway' };
    this.#callOptions = () => ({ deadline: Date.now() + options.submitTimeoutMs });
  }

  async record(
    input: AnchorInput,
    principal: Principal,
    onRefused?: (refused: RefusedAnchor) => void,
  ): Promise<RecordedAnchor> {
    const committed = await this.#ledger.submit<RecordAnchorResult>(
      ANCHOR_CONTRACT,
      RECORD_ANCHOR_FN,
      [canonicalJson(input)],
      identityOf(principal),
      this.#callOptions(),
    );
    const result = committed.result;
    if (result.status === 'rejected') {
      onRefused?.({ code: result.code, message: result.message, fork: result.fork });
      throw new AnchorError(
        result.code,
        `${result.message}; the contradiction is on record as fork ${result.fork.txId}`,
      );
    }
    return {
      status: result.status,
      anchor: result.anchor,
      proof: await this.#proof(result.anchor),
    };
  }

  /** The proof of the transaction that recorded `anchor`, checked to be that transaction. */
  async #proof(anchor: AnchorRecord): Promise<AnchorTxProofView> {
    const stored = await this.#ledger.transaction(anchor.txId);
    const result = stored?.result as Partial<RecordedAnchorResult> | undefined;
    if (
      !stored ||
      stored.header.contract !== ANCHOR_CONTRACT ||
      stored.header.fn !== RECORD_ANCHOR_FN ||
      result?.status !== 'recorded' ||
      canonicalJson(result.anchor) !== canonicalJson(anchor)
    ) {
      throw new LedgerError(
        'LEDGER_CORRUPTED',
        `the transaction ${anchor.txId} that recorded the anchor cannot be read back as such`,
      );
    }
    return {
      tx: stored.header,
      result: result as RecordedAnchorResult,
      txIndex: stored.txIndex,
      txPath: stored.txPath,
      block: stored.block,
    };
  }

  async summary(sourceChainId: string): Promise<AnchorSummary | undefined> {
    const latest = await this.#latest(sourceChainId);
    if (!latest) return undefined;
    return { sourceChainId, latest, forks: (await this.#forks(sourceChainId)).length };
  }

  async forks(sourceChainId: string): Promise<readonly AnchorFork[] | undefined> {
    return (await this.#latest(sourceChainId)) ? this.#forks(sourceChainId) : undefined;
  }

  #latest(sourceChainId: string): Promise<AnchorRecord | null> {
    return this.#ledger.evaluate<AnchorRecord | null>(
      ANCHOR_CONTRACT,
      'latestAnchor',
      [sourceChainId],
      this.#gateway,
      this.#callOptions(),
    );
  }

  #forks(sourceChainId: string): Promise<readonly AnchorFork[]> {
    return this.#ledger.evaluate<AnchorFork[]>(
      ANCHOR_CONTRACT,
      'anchorForks',
      [sourceChainId],
      this.#gateway,
      this.#callOptions(),
    );
  }
}

/** The anchor service over `options.ledger`. */
export function createAnchorService(options: AnchorServiceOptions): AnchorService {
  return new AnchorServiceImpl(options);
}
