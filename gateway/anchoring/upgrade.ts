/**
 * Receipt upgrade: a receipt of this chain gets, for every target whose stored anchor covers its
 * block, an anchor proof (docs/receipt-format.md "Anchors"): this chain's headers from the
 * receipt's block + 1 up to the anchored block, and the anchor transaction's proof on the target.
 *
 * The anchor used is the earliest stored one at or above the receipt's block, so the header chain
 * is as short as it can be. Nothing is returned unchecked: the receipt must verify against this
 * chain's own trust before anything is added, and each added proof must pass core's
 * `parseAnchorProof` and `verifyReceipt` against this chain's trust merged with the target's
 * pinned trust. Anchors already in the receipt are kept as they are (at most one is added per
 * target chain); the verifier checks them against its own pinned trust.
 */

import {
  anchorSourceOf,
  MAX_ANCHOR_HEADERS,
  TIMESTAMP_ANCHOR_KIND,
  type ReceiptAnchor,
} from '../../core/anchor';
import { blockHash, type BlockHeader } from '../../core/block';
import {
  ANCHOR_ERROR_CODES,
  AnchorError,
  LedgerError,
  ValidationError,
  type AnchorErrorCode,
} from '../../core/errors';
import { MAX_ANCHORS, parseAnchorProof, parseReceipt, type Receipt } from '../../core/receipt';
import { mergeTrust, type TrustFile } from '../../core/trust';
import { verifyReceipt } from '../../core/verify';
import type { Ledger } from '../ledger/ledger';
import type { StoredAnchor } from './anchor-store';
import type { JobLogger } from './anchor-job';

export interface UpgradeSource {
  readonly ledger: Ledger;
  /** Configured target names, in order. */
  readonly targets: readonly string[];
  covering(target: string, blockNumber: number): Promise<StoredAnchor | undefined>;
  trustOf(target: string): TrustFile | undefined;
  readonly logger: JobLogger;
}

export interface Upgraded {
  readonly receipt: Receipt;
  /** Targets whose anchor was added. */
  readonly added: readonly string[];
  /** Targets with no stored anchor covering the receipt's block yet. */
  readonly pending: readonly string[];
}

interface Failure {
  readonly target: string;
  readonly code: AnchorErrorCode;
  readonly detail: string;
}

function withoutAnchors(receipt: Receipt): Receipt {
  const { anchors: _anchors, ...base } = receipt;
  return base;
}

/**
 * Upgrades `value` (a receipt, parsed JSON) with this node's stored anchors.
 * @throws ValidationError `RECEIPT_MALFORMED` (not a receipt, not of this chain, or it does not
 *   verify against this chain's trust); AnchorError `ANCHOR_PENDING` when no anchor could be
 *   added because none covers the block yet, or an anchor check code when the node's own proof
 *   fails to verify; LedgerError `LEDGER_CORRUPTED` when this chain's headers are missing or
 *   differ from the receipt's signed header.
 */
export async function upgradeReceipt(source: UpgradeSource, value: unknown): Promise<Upgraded> {
  const receipt = parseReceipt(value);
  const { ledger } = source;
  const number = receipt.ledger.blockNumber;
  if (receipt.ledger.chainId !== ledger.chainId) {
    throw new ValidationError(
      'RECEIPT_MALFORMED',
      `the receipt is of chain ${receipt.ledger.chainId}; this node upgrades receipts of ${ledger.chainId}`,
      [{ path: '/ledger/chainId', rule: 'chainId', message: `must be ${ledger.chainId}` }],
    );
  }
  const base = withoutAnchors(receipt);
  const own = ledger.trust();
  const plain = verifyReceipt(base, own);
  if (plain.verdict !== 'VERIFIED') {
    const failed = plain.checks.find((check) => check.status === 'fail');
    throw new ValidationError(
      'RECEIPT_MALFORMED',
      `the receipt does not verify against this chain (${plain.code ?? plain.verdict})`,
      [{ path: '', rule: plain.code ?? 'verify', message: failed?.detail ?? plain.verdict }],
    );
  }
  if (!ledger.blockHeader) {
    throw new AnchorError('ANCHOR_PENDING', 'this ledger cannot give the headers an upgrade needs');
  }
  const readHeader = async (n: number): Promise<BlockHeader> => {
    const signed = await ledger.blockHeader?.(n);
    if (!signed) throw new LedgerError('LEDGER_CORRUPTED', `block ${n} of this chain is missing`);
    return signed.header;
  };
  const local = await readHeader(number);
  if (blockHash(local) !== blockHash(receipt.proof.block.header)) {
    // The receipt's header is signed by this chain's key, yet the chain holds another block there.
    throw new LedgerError(
      'LEDGER_CORRUPTED',
      `block ${number} of this chain differs from the signed header in the receipt`,
    );
  }

  const existing = receipt.anchors ?? [];
  const chains = new Set(existing.map(anchorSourceOf));
  const added: ReceiptAnchor[] = [];
  const addedBy: string[] = [];
  const pending: string[] = [];
  const failures: Failure[] = [];
  for (const target of source.targets) {
    const stored = await source.covering(target, number);
    if (!stored) {
      pending.push(target);
      continue;
    }
    if (chains.has(stored.targetChainId)) continue; // this chain already vouches in the receipt
    if (existing.length + added.length >= MAX_ANCHORS) {
      source.logger.warn({ target, blockNumber: number }, 'receipt holds the most anchors allowed');
      break;
    }
    const distance = stored.anchor.blockNumber - number;
    if (distance > MAX_ANCHOR_HEADERS) {
      failures.push({
        target,
        code: 'ANCHOR_PROOF_INVALID',
        detail: `the covering anchor is ${distance} blocks away, over ${MAX_ANCHOR_HEADERS}`,
      });
      continue;
    }
    const headers: BlockHeader[] = [];
    for (let n = number + 1; n <= stored.anchor.blockNumber; n++) headers.push(await readHeader(n));
    const failure = checkProof(
      base,
      own,
      source.trustOf(target),
      target,
      stored,
      headers,
      (proof) => {
        added.push(proof);
        addedBy.push(target);
        chains.add(anchorSourceOf(proof));
      },
    );
    if (failure) {
      failures.push(failure);
      source.logger.error(
        { target, code: failure.code, detail: failure.detail, blockNumber: number },
        'a stored anchor does not verify; not added to the receipt',
      );
    }
  }

  if (added.length === 0) {
    const failed = failures[0];
    if (failed) throw new AnchorError(failed.code, `target ${failed.target}: ${failed.detail}`);
    if (source.targets.length === 0) {
      throw new AnchorError('ANCHOR_PENDING', 'this node anchors its chain on no other chain');
    }
    if (pending.length > 0) {
      throw new AnchorError(
        'ANCHOR_PENDING',
        `no anchor covers block ${number} yet (${pending.join(', ')}); try again after the next anchoring`,
      );
    }
    return { receipt, added: [], pending };
  }
  return { receipt: { ...receipt, anchors: [...existing, ...added] }, added: addedBy, pending };
}

/** Builds the proof of `stored` and verifies it; calls `accept` with it, or returns the failure. */
function checkProof(
  base: Receipt,
  own: TrustFile,
  targetTrust: TrustFile | undefined,
  target: string,
  stored: StoredAnchor,
  headers: readonly BlockHeader[],
  accept: (proof: ReceiptAnchor) => void,
): Failure | undefined {
  if (!targetTrust) {
    return { target, code: 'ANCHOR_UNTRUSTED', detail: 'no trust file is pinned for the target' };
  }
  const proof: ReceiptAnchor =
    stored.kind === 'timestamp'
      ? {
          kind: TIMESTAMP_ANCHOR_KIND,
          authority: stored.targetChainId,
          headers,
          token: stored.token,
        }
      : {
          kind: 'embedded-anchor',
          targetChainId: stored.targetChainId,
          headers,
          anchorTx: stored.proof,
        };
  try {
    parseAnchorProof(proof);
  } catch (error) {
    return { target, code: 'ANCHOR_PROOF_INVALID', detail: (error as Error).message };
  }
  const verdict = verifyReceipt({ ...base, anchors: [proof] }, mergeTrust(own, targetTrust), {
    requireAnchors: [anchorSourceOf(proof)],
  });
  if (verdict.verdict === 'VERIFIED') {
    accept(proof);
    return undefined;
  }
  const code = (ANCHOR_ERROR_CODES as readonly string[]).includes(verdict.code ?? '')
    ? (verdict.code as AnchorErrorCode)
    : 'ANCHOR_PROOF_INVALID';
  const detail = verdict.checks.find((check) => check.status === 'fail')?.detail ?? verdict.verdict;
  return { target, code, detail };
}
