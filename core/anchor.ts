/**
 * Cross-chain anchors. The evidence chain's tip (chain id, block number, header hash) is recorded
 * on an independent chain (the court's), so a verdict does not rest on one chain's operators
 * alone (DESIGN.md §1, §4 "Anchor", step 5 of "Verify").
 *
 * Two halves live here, both pure:
 * - what `AnchorContract.recordAnchor` decides and stores: the input, the stored record, the
 *   fork record kept when an anchor contradicts one on record, and {@link judgeAnchor};
 * - what a receipt carries to prove an anchor offline ({@link AnchorProof}) and
 *   {@link checkAnchor}, which checks it: the header hash chain from the receipt's (already
 *   verified) evidence block up to the anchored block, the anchor transaction on the target chain,
 *   its place in a target block, and that block's signature under a key pinned in the trust file.
 *
 * A receipt may also carry a **time stamp** ({@link TimestampAnchorProof}): an RFC 3161 token of a
 * trusted time-stamp authority over an evidence block's header hash (core/timestamp.ts). It is
 * checked the same way up to the anchored block, then by the authority's pinned key instead of a
 * chain's, and dates the evidence by the authority's clock.
 *
 * The anchor JSON Schemas are in `receipt.ts`, next to the transaction and block header schemas
 * they reuse (this module imports only types from there, so the two do not form an import cycle).
 */

import {
  blockHash,
  inclusionPathProblem,
  txLeafHash,
  valueDigest,
  type BlockHeader,
  type SignedBlockHeader,
  type TxHeader,
} from './block';
import type { Digest } from './digest';
import type { AnchorErrorCode } from './errors';
import type { Receipt } from './receipt';
import { keyIdOf, publicKeyFromSpki } from './signature';
import {
  checkTimestampSignature,
  parseTimestampToken,
  timestampAlgorithmOf,
  TimestampFormatError,
  type TimestampToken,
} from './timestamp';
import { OID } from './der';
import {
  CHAIN_ID_PATTERN,
  verifyBlockSignature,
  type TrustedKey,
  type TrustedTimestampAuthority,
  type TrustFile,
} from './trust';

/**
 * Why `recordAnchor` refused an anchor. The refusal commits a fork record; see {@link AnchorFork}.
 * This list and the next are parts of `ANCHOR_ERROR_CODES` (core/errors.ts), which the compiler
 * holds them to.
 */
export const ANCHOR_REJECTION_CODES = [
  'ANCHOR_CONFLICT',
  'ANCHOR_REGRESSION',
] as const satisfies readonly AnchorErrorCode[];
export type AnchorRejectionCode = (typeof ANCHOR_REJECTION_CODES)[number];

/** Why an anchor proof does not verify (each maps to a verdict in `verify.ts`). */
export const ANCHOR_CHECK_CODES = [
  'ANCHOR_CHAIN_BROKEN',
  'ANCHOR_HASH_MISMATCH',
  'ANCHOR_NOT_DESCENDANT',
  'ANCHOR_PROOF_INVALID',
  'ANCHOR_UNTRUSTED',
  'ANCHOR_REQUIRED',
] as const satisfies readonly AnchorErrorCode[];
export type AnchorCheckCode = (typeof ANCHOR_CHECK_CODES)[number];

/** Contract name and transaction that record anchors; a proof must point at this call. */
export const ANCHOR_CONTRACT = 'anchor';
export const RECORD_ANCHOR_FN = 'recordAnchor';

/** Most evidence-chain headers one proof may carry: its size grows linearly with the distance. */
export const MAX_ANCHOR_HEADERS = 10_000;

/** What the anchoring job submits: the source chain's block and the hash of its header. */
export interface AnchorInput {
  readonly sourceChainId: string;
  readonly blockNumber: number;
  /** `blockHash(header)` of that block. */
  readonly headerHash: Digest;
  /**
   * Optional RFC 9162 root over the leaf hashes of the source chain's block hashes 0..blockNumber.
   * Stored and compared, not yet used by proofs: it lets a later proof kind replace the linear
   * header chain with a logarithmic inclusion path.
   */
  readonly leavesRoot?: Digest;
}

/** Who submitted an anchor, as the chaincode's client identity showed it. */
export interface AnchorSubmitter {
  readonly org: string;
  readonly account: string;
}

/** World-state value under `anchor:<sourceChainId>:<blockNumber as 16 hex digits>`. */
export interface AnchorRecord extends AnchorInput {
  readonly type: 'anchor';
  readonly anchoredBy: AnchorSubmitter;
  readonly txId: string;
  /** Chain time of the recording transaction (on the anchoring chain). */
  readonly time: string;
}

/** The anchor on record that a refused anchor contradicts. */
export interface AnchorOnRecord {
  readonly blockNumber: number;
  readonly headerHash: Digest;
  readonly leavesRoot?: Digest;
  readonly txId: string;
  readonly time: string;
}

/**
 * Kept under `anchor-fork:<sourceChainId>:<blockNumber as 16 hex>:<txId>` when an anchor is
 * refused: the claim that was refused and the anchor on record it contradicts. Evidence that the
 * source chain forked (or that someone tried to make it look so).
 */
export interface AnchorFork extends AnchorInput {
  readonly type: 'anchor-fork';
  readonly code: AnchorRejectionCode;
  readonly recorded: AnchorOnRecord;
  readonly reportedBy: AnchorSubmitter;
  readonly txId: string;
  readonly time: string;
}

/**
 * World-state value under `anchor-tip:<sourceChainId>`: the latest anchor and the sizes of the two
 * sequence indexes (`anchor-seq:<chain>:<seq 16 hex>` -> block number, in increasing order, and
 * `anchor-fork-seq:<chain>:<seq 16 hex>` -> fork key) that let readers find anchors and forks by
 * exact keys, without range scans.
 */
export interface AnchorTip {
  readonly type: 'anchor-tip';
  readonly sourceChainId: string;
  readonly blockNumber: number;
  readonly headerHash: Digest;
  readonly txId: string;
  readonly time: string;
  /** Number of anchors recorded for this chain. */
  readonly anchors: number;
  /** Number of forks recorded for this chain. */
  readonly forks: number;
}

/** What `recordAnchor` returns. Only `recorded` is proof material for receipts. */
export type RecordAnchorResult =
  | { readonly status: 'recorded'; readonly anchor: AnchorRecord }
  | { readonly status: 'existing'; readonly anchor: AnchorRecord }
  | {
      readonly status: 'rejected';
      readonly code: AnchorRejectionCode;
      readonly message: string;
      readonly fork: AnchorFork;
    };

export type RecordedAnchorResult = Extract<RecordAnchorResult, { status: 'recorded' }>;

/**
 * Proof, carried in a receipt's `anchors`, that the receipt's evidence block is an ancestor of a
 * block anchored on chain `targetChainId`.
 */
export interface AnchorProof {
  readonly kind: 'embedded-anchor';
  readonly targetChainId: string;
  /**
   * The evidence chain's headers from the evidence block's successor up to and including the
   * anchored block; empty when the anchored block is the evidence block itself.
   */
  readonly headers: readonly BlockHeader[];
  readonly anchorTx: {
    readonly tx: TxHeader;
    readonly result: RecordedAnchorResult;
    readonly txIndex: number;
    /** Hex hashes from the transaction's leaf to the target block's data hash. */
    readonly txPath: readonly string[];
    readonly block: SignedBlockHeader;
  };
}

/** `kind` of a time-stamp anchor. */
export const TIMESTAMP_ANCHOR_KIND = 'rfc3161-timestamp';
/** Longest base64 token a receipt may carry (a token with a certificate chain is 3-8 KB). */
export const MAX_TIMESTAMP_TOKEN_CHARS = 65_536;

/**
 * Proof, carried in a receipt's `anchors`, that the receipt's evidence block is an ancestor of a
 * block whose header hash a trusted time-stamp authority stamped (RFC 3161): the token's message
 * imprint is SHA-256 over the block header's canonical bytes, i.e. the block's own hash.
 */
export interface TimestampAnchorProof {
  readonly kind: typeof TIMESTAMP_ANCHOR_KIND;
  /** The authority, as the trust file names it (an entry of kind `rfc3161`). */
  readonly authority: string;
  /** As in {@link AnchorProof}: headers up to the stamped block; empty when it is the receipt's. */
  readonly headers: readonly BlockHeader[];
  /** The DER `TimeStampToken`, base64. */
  readonly token: string;
}

/** Either kind of anchor a receipt carries. */
export type ReceiptAnchor = AnchorProof | TimestampAnchorProof;

/** The chain or authority an anchor is on (its name in the trust file). */
export function anchorSourceOf(anchor: ReceiptAnchor): string {
  return anchor.kind === TIMESTAMP_ANCHOR_KIND ? anchor.authority : anchor.targetChainId;
}

/** What a verified anchor establishes. */
export interface AnchorFact {
  /** `chain`: an anchor on another chain; `timestamp`: a trusted time stamp. */
  readonly kind: 'chain' | 'timestamp';
  /** The chain, or the time-stamp authority, as the trust file names it. */
  readonly targetChainId: string;
  /**
   * The evidence existed no later than this: the target block's time by the target's clock, or
   * the time stamp's `genTime` plus the accuracy the authority claims.
   */
  readonly anchoredAt: string;
  /** Who runs the target chain or authority, from the trust file. */
  readonly operator?: string;
  /** Chain anchors: the target block and the anchoring transaction. */
  readonly targetBlockNumber?: number;
  readonly txId?: string;
  /** Time stamps: the authority's serial number (hex), `genTime` and accuracy. */
  readonly serialNumber?: string;
  readonly genTime?: string;
  readonly accuracyMs?: number;
  readonly keyId: Digest;
  /** The evidence-chain block the anchor names (the receipt's block or a descendant). */
  readonly sourceBlockNumber: number;
}

const SHA256 = { type: 'string', pattern: '^sha256:[0-9a-f]{64}$' } as const;
const TIME = {
  type: 'string',
  pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{3}Z$',
} as const;
const INDEX = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER } as const;
const CHAIN_ID = { type: 'string', pattern: CHAIN_ID_PATTERN } as const;
/** Names as the client identity gives them (a certificate CN may hold spaces or CJK): no controls. */
const PRINTABLE = { type: 'string', pattern: '^[^\\u0000-\\u001f\\u007f]{1,256}$' } as const;
const SUBMITTER = {
  type: 'object',
  additionalProperties: false,
  required: ['org', 'account'],
  properties: { org: PRINTABLE, account: PRINTABLE },
} as const;

/** JSON Schema of `recordAnchor`'s argument. */
export const anchorInputSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['sourceChainId', 'blockNumber', 'headerHash'],
  properties: {
    sourceChainId: CHAIN_ID,
    blockNumber: INDEX,
    headerHash: SHA256,
    leavesRoot: SHA256,
  },
} as const;

/** JSON Schema of a stored anchor record. */
export const anchorRecordSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['type', 'sourceChainId', 'blockNumber', 'headerHash', 'anchoredBy', 'txId', 'time'],
  properties: {
    type: { const: 'anchor' },
    ...anchorInputSchema.properties,
    anchoredBy: SUBMITTER,
    txId: { type: 'string', pattern: '^[0-9a-f]{64}$' },
    time: TIME,
  },
} as const;

/** JSON Schema of the `recordAnchor` result a proof carries: only `recorded` proves an anchor. */
export const recordedAnchorResultSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['status', 'anchor'],
  properties: { status: { const: 'recorded' }, anchor: anchorRecordSchema },
} as const;

/** The verdict of {@link judgeAnchor}. */
export type AnchorJudgement =
  | { readonly outcome: 'record' }
  | { readonly outcome: 'existing'; readonly anchor: AnchorRecord }
  | {
      readonly outcome: 'reject';
      readonly code: AnchorRejectionCode;
      readonly message: string;
      readonly recorded: AnchorOnRecord;
    };

/**
 * Decides what `recordAnchor` does with `input`, given the anchor on record for the same block
 * (`atNumber`) and the chain's latest anchor (`tip`):
 * - same header hash (and no contradicting `leavesRoot`) as the record at that number: `existing`;
 * - another header hash, or both leaves roots present and different: `ANCHOR_CONFLICT`;
 * - no record at that number but a number below the latest: `ANCHOR_REGRESSION`;
 * - otherwise: `record`.
 * Requires `input` to have passed {@link anchorInputSchema} and both records to be for its chain.
 */
export function judgeAnchor(
  input: AnchorInput,
  atNumber: AnchorRecord | undefined,
  tip: AnchorTip | undefined,
): AnchorJudgement {
  if (atNumber) {
    const sameHash = atNumber.headerHash === input.headerHash;
    const rootsDisagree =
      atNumber.leavesRoot !== undefined &&
      input.leavesRoot !== undefined &&
      atNumber.leavesRoot !== input.leavesRoot;
    if (sameHash && !rootsDisagree) return { outcome: 'existing', anchor: atNumber };
    return {
      outcome: 'reject',
      code: 'ANCHOR_CONFLICT',
      message: sameHash
        ? `block ${input.blockNumber} of ${input.sourceChainId} is on record with another leaves root`
        : `block ${input.blockNumber} of ${input.sourceChainId} is on record with header hash ${atNumber.headerHash}, not ${input.headerHash}`,
      recorded: onRecord(atNumber),
    };
  }
  if (tip && input.blockNumber < tip.blockNumber) {
    return {
      outcome: 'reject',
      code: 'ANCHOR_REGRESSION',
      message: `block ${input.blockNumber} of ${input.sourceChainId} is below the latest anchor, block ${tip.blockNumber}`,
      recorded: {
        blockNumber: tip.blockNumber,
        headerHash: tip.headerHash,
        txId: tip.txId,
        time: tip.time,
      },
    };
  }
  return { outcome: 'record' };
}

function onRecord(record: AnchorRecord): AnchorOnRecord {
  return {
    blockNumber: record.blockNumber,
    headerHash: record.headerHash,
    ...(record.leavesRoot !== undefined ? { leavesRoot: record.leavesRoot } : {}),
    txId: record.txId,
    time: record.time,
  };
}

/** A failed anchor check. Callers branch on `code`, not on text. */
export class AnchorCheckError extends Error {
  readonly code: AnchorCheckCode;

  constructor(code: AnchorCheckCode, message: string) {
    super(message);
    this.name = 'AnchorCheckError';
    this.code = code;
  }
}

function fail(code: AnchorCheckCode, message: string): never {
  throw new AnchorCheckError(code, message);
}

/**
 * Checks that `proof` anchors the receipt's evidence block on `proof.targetChainId`:
 * (a) each header links to the one before it, starting from the receipt's own block header
 *     (same chain, consecutive numbers, `previousHash = blockHash(previous)`);
 * (b) the anchor record names the evidence chain, and exactly the last header's number and hash
 *     (or the evidence block's, when there are no headers);
 * (c) the anchor transaction is `anchor.recordAnchor` on the target chain, returned that record
 *     (its result digest), and sits under the target block's data hash;
 * (d) a key the trust file pins for the target chain, valid at the target block's time, signed
 *     the target block; an anchor on the evidence chain itself vouches for nothing.
 * Pure and synchronous.
 * Requires `receipt` to have passed `parseReceipt` and the evidence checks (its block header is
 * authentic), `proof` to be one of its schema-checked anchors, `trust` to have passed
 * `parseTrustFile`.
 * @throws AnchorCheckError `ANCHOR_CHAIN_BROKEN` (a), `ANCHOR_HASH_MISMATCH` or
 *   `ANCHOR_NOT_DESCENDANT` (b), `ANCHOR_PROOF_INVALID` (c, or a bad signature in d),
 *   `ANCHOR_UNTRUSTED` (d: target chain or key not pinned, key not valid then, self-anchor).
 */
export function checkAnchor(receipt: Receipt, proof: ReceiptAnchor, trust: TrustFile): AnchorFact {
  if (proof.kind === TIMESTAMP_ANCHOR_KIND) return checkTimestampAnchor(receipt, proof, trust);
  const evidence = receipt.proof.block.header;
  const anchored = checkHeaderChain(evidence, proof.headers);
  const record = checkAnchorRecord(evidence, anchored, proof.anchorTx.result.anchor);
  checkAnchorTx(proof);
  if (proof.targetChainId === evidence.chainId) {
    fail('ANCHOR_UNTRUSTED', `an anchor on ${evidence.chainId} itself vouches for nothing`);
  }
  const block = proof.anchorTx.block;
  const signed = verifyBlockSignature(block, trust);
  if (!signed.ok) {
    fail(
      signed.problem === 'SIGNATURE_INVALID' ? 'ANCHOR_PROOF_INVALID' : 'ANCHOR_UNTRUSTED',
      `anchor block on ${proof.targetChainId}: ${signed.detail}`,
    );
  }
  return {
    kind: 'chain',
    targetChainId: proof.targetChainId,
    anchoredAt: block.header.time,
    ...(signed.chain.operator ? { operator: signed.chain.operator } : {}),
    targetBlockNumber: block.header.number,
    txId: proof.anchorTx.tx.txId,
    keyId: signed.key.keyId,
    sourceBlockNumber: record.blockNumber,
  };
}

/** (a) Returns the last header of the chain (the evidence block's when `headers` is empty). */
function checkHeaderChain(evidence: BlockHeader, headers: readonly BlockHeader[]): BlockHeader {
  let previous = evidence;
  headers.forEach((header, index) => {
    if (header.chainId !== evidence.chainId) {
      fail(
        'ANCHOR_CHAIN_BROKEN',
        `header ${index} names chain ${header.chainId}, not ${evidence.chainId}`,
      );
    }
    if (header.number !== previous.number + 1) {
      fail(
        'ANCHOR_CHAIN_BROKEN',
        `header ${index} is block ${header.number}, not ${previous.number + 1}`,
      );
    }
    if (header.previousHash !== blockHash(previous)) {
      fail(
        'ANCHOR_CHAIN_BROKEN',
        `header ${index} (block ${header.number}) does not link to block ${previous.number}`,
      );
    }
    previous = header;
  });
  return previous;
}

/** (b) The record names the evidence chain and exactly the anchored header. */
function checkAnchorRecord(
  evidence: BlockHeader,
  anchored: BlockHeader,
  record: AnchorRecord,
): AnchorRecord {
  if (record.sourceChainId !== evidence.chainId) {
    fail(
      'ANCHOR_HASH_MISMATCH',
      `the anchor is for chain ${record.sourceChainId}, not ${evidence.chainId}`,
    );
  }
  if (record.blockNumber < evidence.number) {
    fail(
      'ANCHOR_NOT_DESCENDANT',
      `the anchor names block ${record.blockNumber}, before the evidence block ${evidence.number}`,
    );
  }
  if (record.blockNumber !== anchored.number) {
    fail(
      'ANCHOR_HASH_MISMATCH',
      `the anchor names block ${record.blockNumber}; the headers end at block ${anchored.number}`,
    );
  }
  if (record.headerHash !== blockHash(anchored)) {
    fail(
      'ANCHOR_HASH_MISMATCH',
      `the anchor names hash ${record.headerHash} for block ${record.blockNumber}, the headers give ${blockHash(anchored)}`,
    );
  }
  return record;
}

/** (c) The anchor transaction returned the record and is in the target block. */
function checkAnchorTx(proof: AnchorProof): void {
  const { tx, result, txIndex, txPath, block } = proof.anchorTx;
  const { header } = block;
  if (tx.contract !== ANCHOR_CONTRACT || tx.fn !== RECORD_ANCHOR_FN) {
    fail(
      'ANCHOR_PROOF_INVALID',
      `the anchor transaction is ${tx.contract}.${tx.fn}, not anchor.recordAnchor`,
    );
  }
  if (tx.chainId !== proof.targetChainId || header.chainId !== proof.targetChainId) {
    fail(
      'ANCHOR_PROOF_INVALID',
      `the anchor transaction or block is not on ${proof.targetChainId}`,
    );
  }
  if (valueDigest(result) !== tx.resultDigest) {
    fail(
      'ANCHOR_PROOF_INVALID',
      'the anchor result does not match its digest in the transaction header',
    );
  }
  if (result.anchor.txId !== tx.txId || result.anchor.time !== tx.time) {
    fail('ANCHOR_PROOF_INVALID', 'the anchor record names another transaction or time');
  }
  if (Date.parse(header.time) < Date.parse(tx.time)) {
    fail('ANCHOR_PROOF_INVALID', 'the anchor block is older than its transaction');
  }
  const problem = inclusionPathProblem(
    txIndex,
    header.txCount,
    txLeafHash(tx),
    txPath,
    header.dataHash,
  );
  if (problem === 'mismatch') {
    fail(
      'ANCHOR_PROOF_INVALID',
      "the anchor transaction is not under the target block's data hash",
    );
  }
  if (problem) fail('ANCHOR_PROOF_INVALID', `the anchor transaction path is invalid (${problem})`);
}

/**
 * Checks a time-stamp anchor: (a) the header chain as for chain anchors; (b) the token's imprint
 * is SHA-256 and equals the hash of the last header (the receipt's block's when there are no
 * headers); (c) the token is well formed, its signed attributes name a `TSTInfo` and carry its
 * digest; (d) the trust file pins the authority (kind `rfc3161`), and one of its keys, valid at
 * `genTime`, signed the token. Pure and synchronous; requires what {@link checkAnchor} does.
 * @throws AnchorCheckError `ANCHOR_CHAIN_BROKEN` (a), `ANCHOR_HASH_MISMATCH` (b),
 *   `ANCHOR_PROOF_INVALID` (c, or a signature no pinned key makes), `ANCHOR_UNTRUSTED` (d: the
 *   authority is not pinned, the token names a key it does not pin, or the key was not valid then).
 */
export function checkTimestampAnchor(
  receipt: Receipt,
  proof: TimestampAnchorProof,
  trust: TrustFile,
): AnchorFact {
  const evidence = receipt.proof.block.header;
  const anchored = checkHeaderChain(evidence, proof.headers);
  const der = Buffer.from(proof.token, 'base64');
  if (der.toString('base64') !== proof.token) {
    fail('ANCHOR_PROOF_INVALID', 'the time stamp token is not canonical base64');
  }
  const stamp = checkTimestampToken(
    der,
    blockHash(anchored),
    anchored.number,
    proof.authority,
    trust,
  );
  return {
    kind: 'timestamp',
    targetChainId: stamp.authority.chainId,
    anchoredAt: stamp.existedBy,
    ...(stamp.authority.operator ? { operator: stamp.authority.operator } : {}),
    serialNumber: stamp.token.serialNumber,
    genTime: stamp.token.genTime,
    accuracyMs: stamp.token.accuracyMs,
    keyId: stamp.key.keyId,
    sourceBlockNumber: anchored.number,
  };
}

/** A time stamp that holds: its token, who signed it, and the latest instant it vouches for. */
export interface CheckedTimestamp {
  readonly token: TimestampToken;
  readonly authority: TrustedTimestampAuthority;
  readonly key: TrustedKey;
  /** `genTime` plus the accuracy the authority claims. */
  readonly existedBy: string;
}

/**
 * Checks that `der`, a time-stamp token, stamps `hash`, the hash of block `number` (b), is well formed (c) and
 * signed by a key of authority `name` the trust file pins, valid at `genTime`, under a policy the
 * file accepts for it (d); see
 * {@link checkTimestampAnchor}. Also what the node checks of an authority's answer before keeping it.
 * @throws AnchorCheckError `ANCHOR_HASH_MISMATCH`, `ANCHOR_PROOF_INVALID`, `ANCHOR_UNTRUSTED`.
 */
export function checkTimestampToken(
  der: Uint8Array,
  hash: Digest,
  number: number,
  name: string,
  trust: TrustFile,
): CheckedTimestamp {
  let token: TimestampToken;
  try {
    token = parseTimestampToken(der);
  } catch (error) {
    if (error instanceof TimestampFormatError) fail('ANCHOR_PROOF_INVALID', error.message);
    throw error;
  }
  if (token.imprintAlgorithm !== OID.sha256) {
    fail('ANCHOR_HASH_MISMATCH', 'the time stamp is not of a SHA-256 imprint');
  }
  const imprint = `sha256:${Buffer.from(token.imprint).toString('hex')}`;
  if (imprint !== hash) {
    fail(
      'ANCHOR_HASH_MISMATCH',
      `the time stamp is of ${imprint}, not of block ${number} (${hash})`,
    );
  }
  const authority = trust.chains.find(
    (entry): entry is TrustedTimestampAuthority =>
      entry.kind === 'rfc3161' && entry.chainId === name,
  );
  if (!authority) {
    fail('ANCHOR_UNTRUSTED', `the trust file pins no time-stamp authority ${name}`);
  }
  const key = signingKeyOf(token, authority);
  if (authority.policies && !authority.policies.includes(token.policy)) {
    fail(
      'ANCHOR_UNTRUSTED',
      `the time stamp is issued under policy ${token.policy}, not one the trust file accepts for ${authority.chainId} (${authority.policies.join(', ')})`,
    );
  }
  const at = Date.parse(token.genTime);
  if (
    (key.notBefore !== undefined && at < Date.parse(key.notBefore)) ||
    (key.notAfter !== undefined && at > Date.parse(key.notAfter))
  ) {
    fail(
      'ANCHOR_UNTRUSTED',
      `key ${key.keyId} of ${authority.chainId} was not valid at ${token.genTime}`,
    );
  }
  return {
    token,
    authority,
    key,
    existedBy: new Date(at + token.accuracyMs).toISOString(),
  };
}

/**
 * The pinned key of `authority` that signed `token`.
 * @throws AnchorCheckError `ANCHOR_PROOF_INVALID` when the token's algorithm is not accepted or
 *   its signed attributes do not bind its content, or when no pinned key verifies the signature
 *   and the token does not show another key; `ANCHOR_UNTRUSTED` when it carries certificates and
 *   none is of a pinned key (the authority signed with a key the trust file does not pin).
 */
function signingKeyOf(token: TimestampToken, authority: TrustedTimestampAuthority): TrustedKey {
  const algorithm = timestampAlgorithmOf(token);
  const candidates = authority.keys.flatMap((key) => {
    const publicKey = key.algorithm === algorithm ? publicKeyFromSpki(key.publicKey) : undefined;
    return publicKey && keyIdOf(Buffer.from(key.publicKey, 'base64')) === key.keyId
      ? [{ key, publicKey }]
      : [];
  });
  const outcome = checkTimestampSignature(
    token,
    candidates.map((candidate) => candidate.publicKey),
  );
  if (typeof outcome === 'number') return (candidates[outcome] as { key: TrustedKey }).key;
  if (outcome === 'ALGORITHM') {
    fail(
      'ANCHOR_PROOF_INVALID',
      'the time stamp is signed with an algorithm this verifier does not accept',
    );
  }
  if (outcome !== 'SIGNATURE') {
    fail('ANCHOR_PROOF_INVALID', "the time stamp's signed attributes do not bind its content");
  }
  const pinned = new Set(authority.keys.map((key) => key.keyId));
  const shown = token.certificateKeys.map((spki) => keyIdOf(spki));
  if (shown.length > 0 && !shown.some((keyId) => pinned.has(keyId))) {
    fail(
      'ANCHOR_UNTRUSTED',
      `the time stamp is signed by a key of ${authority.chainId} the trust file does not pin (${shown[0]})`,
    );
  }
  return fail(
    'ANCHOR_PROOF_INVALID',
    `the time stamp's signature verifies under no ${algorithm} key pinned for ${authority.chainId}`,
  );
}

/** What an anchor says of itself, unchecked: for showing a receipt's anchors before a verdict. */
export interface AnchorClaim {
  readonly kind: AnchorFact['kind'];
  /** The chain or authority, as the anchor names it. */
  readonly source: string;
  /** The evidence block anchored (the receipt's, or the last header's). */
  readonly sourceBlockNumber: number;
  /** Chain anchors: the block on the target chain. */
  readonly targetBlockNumber?: number;
  /** The target block's time, or the time stamp's `genTime`; absent for an unreadable token. */
  readonly anchoredAt?: string;
  readonly headers: number;
}

/** What `anchor`, carried by `receipt`, claims; nothing is verified. Never throws. */
export function anchorClaimOf(receipt: Receipt, anchor: ReceiptAnchor): AnchorClaim {
  const last = anchor.headers[anchor.headers.length - 1];
  const sourceBlockNumber = last?.number ?? receipt.ledger.blockNumber;
  const headers = anchor.headers.length;
  if (anchor.kind === TIMESTAMP_ANCHOR_KIND) {
    let anchoredAt: string | undefined;
    try {
      anchoredAt = parseTimestampToken(Buffer.from(anchor.token, 'base64')).genTime;
    } catch {
      anchoredAt = undefined;
    }
    return {
      kind: 'timestamp',
      source: anchor.authority,
      sourceBlockNumber,
      ...(anchoredAt ? { anchoredAt } : {}),
      headers,
    };
  }
  const { block } = anchor.anchorTx;
  return {
    kind: 'chain',
    source: anchor.targetChainId,
    sourceBlockNumber: anchor.anchorTx.result.anchor.blockNumber,
    targetBlockNumber: block.header.number,
    anchoredAt: block.header.time,
    headers,
  };
}
