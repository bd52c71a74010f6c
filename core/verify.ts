/**
 * Receipt verification: pure and synchronous. Given the file's digests (computed by the caller), a
 * receipt and a pinned trust file, it recomputes every hash and checks every signature itself and
 * returns a structured verdict. It believes nothing the receipt claims.
 *
 * The top-level function reads like the algorithm of DESIGN.md §4:
 * checkReceipt -> checkDigest -> checkInclusion -> checkTransaction -> checkBlock -> checkSignature
 * -> checkAnchors.
 *
 * Anchors: every anchor proof a receipt carries must verify. One bad anchor fails the whole
 * verdict (with the anchor's code), even when the receipt would verify without it: a receipt
 * carrying a forged anchor is not to be trusted. Requiring anchors is the caller's choice
 * (`requireAnchors`); without it a receipt with no anchors verifies as before.
 */

import { ANCHOR_CHECK_CODES, AnchorCheckError, checkAnchor, type AnchorFact } from './anchor';
import { blockHash, inclusionPathProblem, txLeafHash, valueDigest } from './block';
import { type Digest, type DigestSet, type DigestAlgorithm } from './digest';
import { isEvidenceError } from './errors';
import { recordLeafHash, normalizeRecord, primaryDigest } from './evidence';
import { parseReceipt, type Receipt } from './receipt';
import { verifyBlockSignature, windowOf, type TrustFile, type TrustedKey } from './trust';

export const VERDICTS = [
  'VERIFIED',
  'MISMATCH',
  'PROOF_INVALID',
  'UNTRUSTED',
  'NOT_ON_CHAIN',
] as const;
export type VerdictName = (typeof VERDICTS)[number];

/** Stable codes of failed checks; each maps to one verdict. */
export const CHECK_CODES = {
  RECEIPT_MALFORMED: 'PROOF_INVALID',
  DIGEST_MISMATCH: 'MISMATCH',
  RECORD_NOT_NORMAL: 'PROOF_INVALID',
  INCLUSION_INVALID: 'PROOF_INVALID',
  RESULT_MISMATCH: 'PROOF_INVALID',
  TX_MISMATCH: 'PROOF_INVALID',
  TX_NOT_IN_BLOCK: 'PROOF_INVALID',
  BLOCK_MISMATCH: 'PROOF_INVALID',
  SIGNATURE_INVALID: 'PROOF_INVALID',
  CHAIN_NOT_TRUSTED: 'UNTRUSTED',
  KEY_NOT_TRUSTED: 'UNTRUSTED',
  KEY_NOT_VALID_AT_TIME: 'UNTRUSTED',
  KEY_COMPROMISED: 'UNTRUSTED',
  NOT_ON_CHAIN: 'NOT_ON_CHAIN',
  ANCHOR_CHAIN_BROKEN: 'PROOF_INVALID',
  ANCHOR_HASH_MISMATCH: 'PROOF_INVALID',
  ANCHOR_NOT_DESCENDANT: 'PROOF_INVALID',
  ANCHOR_PROOF_INVALID: 'PROOF_INVALID',
  ANCHOR_UNTRUSTED: 'UNTRUSTED',
  ANCHOR_REQUIRED: 'UNTRUSTED',
  /**
   * Not found by {@link verifyReceipt}, which reads no network: `evidence verify --online` sets it
   * when the gateway holds a fork proof, confirmed by the pinned trust file, by the key that
   * signed the receipt's block, and the trust file does not mark that key compromised yet.
   */
  CHAIN_FORKED: 'UNTRUSTED',
} as const satisfies Record<string, VerdictName>;
export type CheckCode = keyof typeof CHECK_CODES;

// Every anchor check code has a verdict above (compile-time check).
const _anchorCodesMapped: readonly CheckCode[] = ANCHOR_CHECK_CODES;

export type CheckStep =
  'receipt' | 'digest' | 'inclusion' | 'transaction' | 'block' | 'signature' | 'anchor';

export interface Check {
  readonly step: CheckStep;
  readonly status: 'pass' | 'fail' | 'skip';
  readonly code?: CheckCode;
  /** One line for people, in English. */
  readonly detail: string;
}

/** Facts the verdict proves, present only when the receipt was well formed. */
export interface ProvenFacts {
  readonly digests: readonly Digest[];
  readonly depositor: { readonly org: string; readonly account: string };
  readonly chainId: string;
  readonly blockNumber: number;
  readonly txId: string;
  /** The evidence existed no later than this chain time. */
  readonly existedBy: string;
  readonly blockHash: Digest;
  readonly signer?: { readonly keyId: Digest; readonly operator?: string };
  /**
   * The earliest time of a verified anchor: by the clock of an independent chain, the evidence
   * existed no later than this. Absent without verified anchors.
   */
  readonly earliestAnchor?: string;
}

export interface Verdict {
  readonly verdict: VerdictName;
  /** Code of the first failing check; absent when verified. */
  readonly code?: CheckCode;
  readonly checks: readonly Check[];
  /** What the verification proved; present only when the verdict is VERIFIED. */
  readonly facts?: ProvenFacts;
  /**
   * What a well-formed receipt claims, when the verdict is NOT verified: for showing the reader
   * what was checked, never as proof.
   */
  readonly claims?: ProvenFacts;
  /** Anchors verified, in receipt order (on a failed verdict, those verified before the failure). */
  readonly anchors: readonly AnchorFact[];
}

export interface VerifyOptions {
  /** Digests of the file in hand; without them the digest step is skipped (receipt-only check). */
  readonly fileDigests?: DigestSet;
  /**
   * `true`: the receipt must carry at least one anchor (all of them valid); a list of chain ids:
   * a valid anchor on each of them (an empty list requires nothing). Otherwise `ANCHOR_REQUIRED`.
   */
  readonly requireAnchors?: boolean | readonly string[];
}

class CheckFailure extends Error {
  constructor(
    readonly step: CheckStep,
    readonly code: CheckCode,
    detail: string,
  ) {
    super(detail);
  }
}

function fail(step: CheckStep, code: CheckCode, detail: string): never {
  throw new CheckFailure(step, code, detail);
}

/**
 * Verifies `receiptValue` (parsed JSON, not yet validated) against `trust`.
 * Never throws for bad input: every problem becomes a failed check.
 * Requires `trust` to have passed `parseTrustFile`.
 */
export function verifyReceipt(
  receiptValue: unknown,
  trust: TrustFile,
  options: VerifyOptions = {},
): Verdict {
  const checks: Check[] = [];
  const pass = (step: CheckStep, detail: string) => checks.push({ step, status: 'pass', detail });
  const anchors: AnchorFact[] = [];
  let receipt: Receipt | undefined;
  let facts: ProvenFacts | undefined;
  try {
    receipt = checkReceipt(receiptValue);
    pass('receipt', 'receipt is well formed (version 1)');
    facts = {
      digests: receipt.record.digests,
      depositor: receipt.record.depositor,
      chainId: receipt.ledger.chainId,
      blockNumber: receipt.ledger.blockNumber,
      txId: receipt.ledger.txId,
      existedBy: receipt.ledger.time,
      blockHash: blockHash(receipt.proof.block.header),
    };
    if (options.fileDigests) {
      pass('digest', checkDigest(receipt, options.fileDigests));
    } else {
      checks.push({
        step: 'digest',
        status: 'skip',
        detail: 'no file given: digests not compared',
      });
    }
    pass('inclusion', checkInclusion(receipt));
    pass('transaction', checkTransaction(receipt));
    pass('block', checkBlock(receipt));
    const signer = checkSignature(receipt, trust);
    pass('signature', signer.detail);
    facts = {
      ...facts,
      signer: {
        keyId: signer.key.keyId,
        ...(signer.operator ? { operator: signer.operator } : {}),
      },
    };
    for (let index = 0; index < (receipt.anchors?.length ?? 0); index++) {
      const fact = checkAnchorProof(receipt, index, trust);
      anchors.push(fact);
      pass('anchor', anchorDetail(index, fact));
    }
    const required = options.requireAnchors;
    if (required === true || (Array.isArray(required) && required.length > 0)) {
      pass('anchor', checkRequiredAnchors(anchors, required as true | readonly string[]));
    }
    const independent = independentAnchors(anchors, trust);
    const { compromisedSince } = signer.key;
    if (compromisedSince !== undefined) {
      const before = checkCompromisedKey(signer.key.keyId, compromisedSince, independent);
      pass('signature', before.detail);
      facts = { ...facts, existedBy: before.anchoredAt };
    }
    const earliest = earliestAnchor(independent);
    if (earliest !== undefined) facts = { ...facts, earliestAnchor: earliest };
    return { verdict: 'VERIFIED', checks, facts, anchors };
  } catch (error) {
    const failure =
      error instanceof CheckFailure
        ? error
        : new CheckFailure(
            'receipt',
            'RECEIPT_MALFORMED',
            `unexpected problem: ${(error as Error).message}`,
          );
    checks.push({
      step: failure.step,
      status: 'fail',
      code: failure.code,
      detail: failure.message,
    });
    return {
      verdict: CHECK_CODES[failure.code],
      code: failure.code,
      checks,
      // Not proven: what the receipt claims is returned under another name, so no caller can
      // mistake it for a verified fact.
      ...(facts ? { claims: facts } : {}),
      anchors,
    };
  }
}

/** Shape, version and the record's normal form. */
export function checkReceipt(value: unknown): Receipt {
  let receipt: Receipt;
  try {
    receipt = parseReceipt(value);
  } catch (error) {
    const fields = isEvidenceError(error) && error.fields ? error.fields : [];
    const where = fields.map((f) => `${f.path || '/'} (${f.rule})`).join(', ');
    fail(
      'receipt',
      'RECEIPT_MALFORMED',
      `receipt is malformed: ${where || (error as Error).message}`,
    );
  }
  const normal = normalizeRecord(receipt.record);
  if (normal.digests.some((digest, index) => digest !== receipt.record.digests[index])) {
    fail('receipt', 'RECORD_NOT_NORMAL', 'record digests are not in normal order (sha256 first)');
  }
  try {
    primaryDigest(receipt.record);
  } catch {
    fail('receipt', 'RECEIPT_MALFORMED', 'record has no sha256 digest');
  }
  const algorithms = receipt.record.digests.map((d) => d.slice(0, d.indexOf(':')));
  if (new Set(algorithms).size !== algorithms.length) {
    fail('receipt', 'RECEIPT_MALFORMED', 'record names one algorithm twice');
  }
  return receipt;
}

/** Step 1: the file's digests equal the record's, for every algorithm both sides have. */
export function checkDigest(receipt: Receipt, fileDigests: DigestSet): string {
  const compared: string[] = [];
  for (const recorded of receipt.record.digests) {
    const algorithm = recorded.slice(0, recorded.indexOf(':')) as DigestAlgorithm;
    const actual = fileDigests[algorithm];
    if (actual === undefined) continue;
    if (actual !== recorded) {
      fail(
        'digest',
        'DIGEST_MISMATCH',
        `file ${algorithm} ${actual} differs from the receipt's ${recorded}`,
      );
    }
    compared.push(algorithm);
  }
  if (!compared.includes('sha256')) {
    fail('digest', 'DIGEST_MISMATCH', 'the sha256 digest of the file was not compared');
  }
  return `file digests match the record (${compared.join(', ')})`;
}

/** Step 2: leaf hash of the record, through the inclusion path, gives the batch root. */
export function checkInclusion(receipt: Receipt): string {
  const { leafIndex, treeSize, root, path } = receipt.inclusion;
  const problem = inclusionPathProblem(
    leafIndex,
    treeSize,
    recordLeafHash(receipt.record),
    path,
    root,
  );
  if (problem === 'mismatch') {
    fail('inclusion', 'INCLUSION_INVALID', 'inclusion path does not lead to the batch root');
  }
  if (problem) fail('inclusion', 'INCLUSION_INVALID', `inclusion path is invalid (${problem})`);
  return `record is leaf ${leafIndex} of ${treeSize} under batch root ${root}`;
}

/** Step 3: the transaction returned that root, and the ledger facts are the transaction's own. */
export function checkTransaction(receipt: Receipt): string {
  const { tx, result } = receipt.proof;
  const { ledger, inclusion } = receipt;
  if (result.root !== inclusion.root || result.size !== inclusion.treeSize) {
    fail('transaction', 'RESULT_MISMATCH', 'transaction result names another batch root or size');
  }
  if (valueDigest(result) !== tx.resultDigest) {
    fail(
      'transaction',
      'RESULT_MISMATCH',
      'transaction result does not match its digest in the header',
    );
  }
  if (tx.contract !== 'evidence' || tx.fn !== 'depositBatch') {
    fail(
      'transaction',
      'TX_MISMATCH',
      `transaction is ${tx.contract}.${tx.fn}, not evidence.depositBatch`,
    );
  }
  if (tx.txId !== ledger.txId || tx.chainId !== ledger.chainId || tx.time !== ledger.time) {
    fail(
      'transaction',
      'TX_MISMATCH',
      'ledger facts (txId, chain, time) differ from the transaction',
    );
  }
  return `transaction ${tx.txId} on ${tx.chainId} at ${tx.time} committed the batch root`;
}

/** Step 4: the transaction is in the block, and the block is the one the ledger facts name. */
export function checkBlock(receipt: Receipt): string {
  const { tx, txIndex, txPath, block } = receipt.proof;
  const { header } = block;
  if (header.chainId !== receipt.ledger.chainId || header.number !== receipt.ledger.blockNumber) {
    fail('block', 'BLOCK_MISMATCH', 'block header names another chain or number');
  }
  if (Date.parse(header.time) < Date.parse(tx.time)) {
    fail('block', 'BLOCK_MISMATCH', 'block is older than its transaction');
  }
  const problem = inclusionPathProblem(
    txIndex,
    header.txCount,
    txLeafHash(tx),
    txPath,
    header.dataHash,
  );
  if (problem === 'mismatch') {
    fail('block', 'TX_NOT_IN_BLOCK', "transaction is not under the block's data hash");
  }
  if (problem) fail('block', 'TX_NOT_IN_BLOCK', `transaction path is invalid (${problem})`);
  return `transaction ${txIndex} of ${header.txCount} in block ${header.number}`;
}

/** Step 5: a key pinned for this chain, valid at the block's time, signed the header. */
export function checkSignature(
  receipt: Receipt,
  trust: TrustFile,
): { key: TrustedKey; operator?: string; detail: string } {
  const { header } = receipt.proof.block;
  const outcome = verifyBlockSignature(receipt.proof.block, trust);
  if (!outcome.ok) fail('signature', outcome.problem, outcome.detail);
  const { chain, key } = outcome;
  const who = chain.operator ? ` (${chain.operator})` : '';
  return {
    key,
    ...(chain.operator ? { operator: chain.operator } : {}),
    detail: `block ${header.number} signed by pinned key ${key.keyId}${who}${windowOf(key)}`,
  };
}

/**
 * Step 6: anchor `index` of the receipt (see `checkAnchor` in `anchor.ts`).
 * Requires a receipt whose evidence steps passed.
 */
export function checkAnchorProof(receipt: Receipt, index: number, trust: TrustFile): AnchorFact {
  const proof = receipt.anchors?.[index];
  if (!proof) fail('anchor', 'ANCHOR_PROOF_INVALID', `the receipt has no anchor ${index}`);
  try {
    return checkAnchor(receipt, proof, trust);
  } catch (error) {
    if (error instanceof AnchorCheckError)
      fail('anchor', error.code, `anchor ${index}: ${error.message}`);
    throw error;
  }
}

function anchorDetail(index: number, fact: AnchorFact): string {
  return `anchor ${index}: ${anchorFactText(fact)}`;
}

/**
 * One line for people on what a verified anchor shows: `block 7 anchored on court-chain (Court)
 * in block 3 at T`, or `block 7 time-stamped by tsa (Authority) at T (accuracy 1000 ms, serial
 * 0a): no later than T'`.
 */
export function anchorFactText(fact: AnchorFact): string {
  const who = fact.operator ? ` (${fact.operator})` : '';
  if (fact.kind === 'timestamp') {
    return (
      `block ${fact.sourceBlockNumber} time-stamped by ${fact.targetChainId}${who} at ` +
      `${fact.genTime} (accuracy ${fact.accuracyMs ?? 0} ms, serial ${fact.serialNumber}): ` +
      `no later than ${fact.anchoredAt}`
    );
  }
  return (
    `block ${fact.sourceBlockNumber} anchored on ${fact.targetChainId}${who} ` +
    `in block ${fact.targetBlockNumber} at ${fact.anchoredAt}`
  );
}

/** The `requireAnchors` option against the anchors that verified. */
function checkRequiredAnchors(
  anchors: readonly AnchorFact[],
  required: true | readonly string[],
): string {
  if (required === true) {
    if (anchors.length === 0)
      fail('anchor', 'ANCHOR_REQUIRED', 'an anchor is required; the receipt has none');
    return `anchor required: ${anchors.length} verified`;
  }
  const missing = required.filter((chainId) => !anchors.some((a) => a.targetChainId === chainId));
  if (missing.length > 0) {
    fail(
      'anchor',
      'ANCHOR_REQUIRED',
      `an anchor is required on ${missing.join(', ')}; the receipt has none there`,
    );
  }
  return `anchors required on ${required.join(', ')}: present`;
}

/**
 * The anchors whose time is independent evidence: signed by a key the trust file does not mark
 * compromised (whoever holds a compromised key can sign a block with any time).
 */
function independentAnchors(anchors: readonly AnchorFact[], trust: TrustFile): AnchorFact[] {
  return anchors.filter((anchor) => {
    const chain = trust.chains.find((c) => c.chainId === anchor.targetChainId);
    const key = chain?.keys.find((k) => k.keyId === anchor.keyId);
    return key !== undefined && key.compromisedSince === undefined;
  });
}

/**
 * Step 5, for a block signed by key `keyId`, which the trust file marks compromised since
 * `since`: the block's own time proves nothing, so one of the `independent` anchors (see
 * {@link independentAnchors}) must show the block existed by `since`. Returns the earliest such
 * anchor's time and the detail line.
 */
function checkCompromisedKey(
  keyId: string,
  since: string,
  independent: readonly AnchorFact[],
): { anchoredAt: string; detail: string } {
  const limit = Date.parse(since);
  const before = independent
    .filter((anchor) => Date.parse(anchor.anchoredAt) <= limit)
    .sort((a, b) => Date.parse(a.anchoredAt) - Date.parse(b.anchoredAt))[0];
  if (!before) {
    fail(
      'signature',
      'KEY_COMPROMISED',
      `key ${keyId} is marked compromised since ${since}: its signature proves nothing by ` +
        `itself, and no anchor by an uncompromised key shows the block existed by then`,
    );
  }
  return {
    anchoredAt: before.anchoredAt,
    detail:
      `key ${keyId} is marked compromised since ${since}; the block existed by ` +
      `${before.anchoredAt}, before it, by its anchor on ${before.targetChainId}`,
  };
}

function earliestAnchor(anchors: readonly AnchorFact[]): string | undefined {
  let earliest: AnchorFact | undefined;
  for (const anchor of anchors) {
    if (!earliest || Date.parse(anchor.anchoredAt) < Date.parse(earliest.anchoredAt))
      earliest = anchor;
  }
  return earliest?.anchoredAt;
}
