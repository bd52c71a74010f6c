/**
 * Anchor targets: the independent chains this node records its tip on (DESIGN.md §4 "Anchor").
 *
 * A target takes an AnchorInput and answers with the anchor recorded on its chain and the proof
 * of the transaction that recorded it: the `anchorTx` part of core's AnchorProof (transaction
 * header, `recordAnchor` result, path into the block, signed block header). The node stores
 * that pair and later joins it with its own header chain to upgrade receipts, without asking the
 * target again.
 *
 * Two kinds exist in this build: `http`, another node's gateway (`POST /v1/anchors`), and
 * `rfc3161`, a trusted time-stamp authority that stamps the tip's hash (core/timestamp.ts), whose
 * answer is a signed token instead of a chain's transaction proof. A Fabric target would implement
 * the same interface with @hyperledger/fabric-gateway (submit `anchor.recordAnchor`, then fetch
 * the block for the proof).
 */

import type { AnchorInput, AnchorProof, AnchorRecord } from '../../core/anchor';
import type { Digest } from '../../core/digest';
import type { TrustFile } from '../../core/trust';
import type { AnchorTargetConfig } from '../config';
import { createHttpTarget } from './http-target';
import { createTimestampTarget } from './timestamp-target';

/** The anchor transaction's own proof on the target chain (`anchorTx` of core's AnchorProof). */
export type AnchorTxProof = AnchorProof['anchorTx'];

/** What a chain target answers for an anchor it recorded (or had already recorded). */
export interface SubmittedChainAnchor {
  readonly kind: 'chain';
  readonly anchor: AnchorRecord;
  readonly proof: AnchorTxProof;
}

/** The block a time stamp is of, and the authority's time (`genTime`). */
export interface StampedBlock {
  readonly sourceChainId: string;
  readonly blockNumber: number;
  readonly headerHash: Digest;
  readonly time: string;
}

/** What a time-stamp authority answers: the token over the block's hash (base64 DER). */
export interface SubmittedTimestamp {
  readonly kind: 'timestamp';
  readonly anchor: StampedBlock;
  readonly token: string;
}

export type SubmittedAnchor = SubmittedChainAnchor | SubmittedTimestamp;

export interface TargetCallOptions {
  /** Aborts the call (the job's shutdown); each call also has its own deadline. */
  readonly signal?: AbortSignal;
}

export interface AnchorTarget {
  /** Unique name from the configuration. */
  readonly name: string;
  readonly kind: string;
  /**
   * The trust file a verifier pins for the target chain, validated.
   * @throws EvidenceError `LEDGER_UNAVAILABLE` (unreachable, or an error answer),
   *   `LEDGER_TIMEOUT`, `LEDGER_CLOSED` (aborted), `TRUST_MALFORMED`.
   */
  trust(options?: TargetCallOptions): Promise<TrustFile>;
  /**
   * Records `input` on the target chain. Resolves with the anchor on record for that block (newly
   * recorded, or recorded before with the same hash) and the proof of its recording transaction,
   * shape-checked but not yet verified against a trust file (the caller does that).
   * @throws AnchorError `ANCHOR_CONFLICT` / `ANCHOR_REGRESSION` (the target refused and kept a
   *   fork record), `ANCHOR_PROOF_INVALID` (an answer not as documented); the target's own code
   *   for other refusals (`UNAUTHENTICATED`, `FORBIDDEN`, ...); LedgerError `LEDGER_UNAVAILABLE`,
   *   `LEDGER_TIMEOUT`, `LEDGER_CLOSED`.
   */
  submit(input: AnchorInput, options?: TargetCallOptions): Promise<SubmittedAnchor>;
}

export interface TargetOptions {
  /** Deadline of one call, in milliseconds. */
  readonly timeoutMs: number;
  /** The HTTP client; default the global fetch. */
  readonly fetch?: typeof fetch;
}

/** The targets of the configuration, in order. */
export function createAnchorTargets(
  configs: readonly AnchorTargetConfig[],
  options: TargetOptions,
): AnchorTarget[] {
  return configs.map((config) => {
    switch (config.kind) {
      case 'http':
        return createHttpTarget(config, options);
      case 'rfc3161':
        return createTimestampTarget(config, options);
    }
  });
}
