/**
 * Receipt verification: pure and synchronous. Given the file's digests (computed by the caller), a
 * receipt and a pinned trust file, it recomputes every hash and checks every signature itself and
 * returns a structured verdict. It believes nothing the receipt claims.
 *
 * The top-level function reads like the algorithm of DESIGN.md §4:
 * checkReceipt -> checkDigest -> checkInclusion -> checkTransaction -> checkBlock -> checkSignature.
 */

import { txLeafHash, blockSigningBytes, blockHash, valueDigest } from './block';
import { type Digest, type DigestSet, type DigestAlgorithm } from './digest';
import { isEvidenceError } from './errors';
import { recordLeafHash, normalizeRecord, primaryDigest } from './evidence';
import { MerkleProofError, rootFromInclusionProof } from './merkle';
import { parseReceipt, type Receipt } from './receipt';
import { keyIdOf, publicKeyFromSpki, verifySignature } from './signature';
import type { TrustFile, TrustedKey } from './trust';

export const VERDICTS = ['VERIFIED', 'MISMATCH', 'PROOF_INVALID', 'UNTRUSTED', 'NOT_ON_CHAIN'] as const;
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
  NOT_ON_CHAIN: 'NOT_ON_CHAIN',
} as const satisfies Record<string, VerdictName>;
export type CheckCode = keyof typeof CHECK_CODES;

export type CheckStep = 'receipt' | 'digest' | 'inclusion' | 'transaction' | 'block' | 'signature';

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
}

export interface Verdict {
  readonly verdict: VerdictName;
  /** Code of the first failing check; absent when verified. */
  readonly code?: CheckCode;
  readonly checks: readonly Check[];
  readonly facts?: ProvenFacts;
}

export interface VerifyOptions {
  /** Digests of the file in hand; without them the digest step is skipped (receipt-only check). */
  readonly fileDigests?: DigestSet;
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
export function verifyReceipt(receiptValue: unknown, trust: TrustFile, options: VerifyOptions = {}): Verdict {
  const checks: Check[] = [];
  const pass = (step: CheckStep, detail: string) => checks.push({ step, status: 'pass', detail });
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
      checks.push({ step: 'digest', status: 'skip', detail: 'no file given: digests not compared' });
    }
    pass('inclusion', checkInclusion(receipt));
    pass('transaction', checkTransaction(receipt));
    pass('block', checkBlock(receipt));
    const signer = checkSignature(receipt, trust);
    pass('signature', signer.detail);
    facts = { ...facts, signer: { keyId: signer.key.keyId, ...(signer.operator ? { operator: signer.operator } : {}) } };
    return { verdict: 'VERIFIED', checks, facts };
  } catch (error) {
    const failure =
      error instanceof CheckFailure
        ? error
        : new CheckFailure('receipt', 'RECEIPT_MALFORMED', `unexpected problem: ${(error as Error).message}`);
    checks.push({ step: failure.step, status: 'fail', code: failure.code, detail: failure.message });
    return { verdict: CHECK_CODES[failure.code], code: failure.code, checks, ...(facts ? { facts } : {}) };
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
    fail('receipt', 'RECEIPT_MALFORMED', `receipt is malformed: ${where || (error as Error).message}`);
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
      fail('digest', 'DIGEST_MISMATCH', `file ${algorithm} ${actual} differs from the receipt's ${recorded}`);
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
  const leaf = recordLeafHash(receipt.record);
  let computed: Buffer;
  try {
    computed = rootFromInclusionProof(
      leafIndex,
      treeSize,
      leaf,
      path.map((hex) => Buffer.from(hex, 'hex')),
    );
  } catch (error) {
    const code = error instanceof MerkleProofError ? error.code : 'unknown';
    fail('inclusion', 'INCLUSION_INVALID', `inclusion path is invalid (${code})`);
  }
  if (`sha256:${computed.toString('hex')}` !== root) {
    fail('inclusion', 'INCLUSION_INVALID', 'inclusion path does not lead to the batch root');
  }
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
    fail('transaction', 'RESULT_MISMATCH', 'transaction result does not match its digest in the header');
  }
  if (tx.contract !== 'evidence' || tx.fn !== 'depositBatch') {
    fail('transaction', 'TX_MISMATCH', `transaction is ${tx.contract}.${tx.fn}, not evidence.depositBatch`);
  }
  if (tx.txId !== ledger.txId || tx.chainId !== ledger.chainId || tx.time !== ledger.time) {
    fail('transaction', 'TX_MISMATCH', 'ledger facts (txId, chain, time) differ from the transaction');
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
  let computed: Buffer;
  try {
    computed = rootFromInclusionProof(
      txIndex,
      header.txCount,
      txLeafHash(tx),
      txPath.map((hex) => Buffer.from(hex, 'hex')),
    );
  } catch (error) {
    const code = error instanceof MerkleProofError ? error.code : 'unknown';
    fail('block', 'TX_NOT_IN_BLOCK', `transaction path is invalid (${code})`);
  }
  if (`sha256:${computed.toString('hex')}` !== header.dataHash) {
    fail('block', 'TX_NOT_IN_BLOCK', "transaction is not under the block's data hash");
  }
  return `transaction ${txIndex} of ${header.txCount} in block ${header.number}`;
}

/** Step 5: a key pinned for this chain, valid at the block's time, signed the header. */
export function checkSignature(
  receipt: Receipt,
  trust: TrustFile,
): { key: TrustedKey; operator?: string; detail: string } {
  const { header, signature } = receipt.proof.block;
  const chain = trust.chains.find((c) => c.chainId === header.chainId);
  if (!chain) fail('signature', 'CHAIN_NOT_TRUSTED', `the trust file does not name chain ${header.chainId}`);
  const key = chain.keys.find((k) => k.keyId === signature.keyId && k.algorithm === signature.algorithm);
  if (!key) fail('signature', 'KEY_NOT_TRUSTED', `key ${signature.keyId} is not pinned for ${chain.chainId}`);
  const at = Date.parse(header.time);
  if (
    (key.notBefore !== undefined && at < Date.parse(key.notBefore)) ||
    (key.notAfter !== undefined && at > Date.parse(key.notAfter))
  ) {
    fail('signature', 'KEY_NOT_VALID_AT_TIME', `key ${key.keyId} was not valid at ${header.time}`);
  }
  const publicKey = publicKeyFromSpki(key.publicKey);
  if (!publicKey || keyIdOf(Buffer.from(key.publicKey, 'base64')) !== key.keyId) {
    fail('signature', 'KEY_NOT_TRUSTED', `pinned key ${key.keyId} cannot be parsed or is mislabelled`);
  }
  if (!verifySignature(signature.algorithm, publicKey, blockSigningBytes(header), signature.value)) {
    fail('signature', 'SIGNATURE_INVALID', 'block signature does not verify');
  }
  const who = chain.operator ? ` (${chain.operator})` : '';
  return {
    key,
    ...(chain.operator ? { operator: chain.operator } : {}),
    detail: `block ${header.number} signed by pinned key ${key.keyId}${who}`,
  };
}
