/**
 * The receipt a depositor keeps: the record as committed, its inclusion path to the batch root, the
 * ledger facts and the signed material to check them offline. Versioned; every field is
 * attacker-controlled and validated before use. Size grows with log(batch) + log(block), never with
 * the batch or the block themselves. Anchor proofs, added later, grow linearly with the distance
 * from the evidence block to the anchored block (one block header each).
 */

import {
  MAX_ANCHOR_HEADERS,
  MAX_TIMESTAMP_TOKEN_CHARS,
  recordedAnchorResultSchema,
  TIMESTAMP_ANCHOR_KIND,
  type ReceiptAnchor,
} from './anchor';
import type { BatchResult } from './batch';
import type { SignedBlockHeader, TxHeader } from './block';
import { SIGNATURE_ALGORITHMS } from './block';
import { DIGEST_PATTERN, type Digest } from './digest';
import { evidenceRecordSchema, type EvidenceRecord } from './evidence';
import { validateOrThrow } from './schema';
import { CHAIN_ID_PATTERN } from './trust';

export const RECEIPT_TYPE = 'judicial-evidence-receipt';

/** Path from the record's leaf to the batch root (RFC 9162 §2.1.3). Hashes are lower-case hex. */
export interface InclusionPath {
  readonly leafIndex: number;
  readonly treeSize: number;
  readonly root: Digest;
  readonly path: readonly string[];
}

export interface LedgerFacts {
  readonly kind: 'embedded';
  readonly chainId: string;
  readonly txId: string;
  readonly blockNumber: number;
  /** Chain time of the transaction: the evidence existed no later than this. */
  readonly time: string;
}

/** Proof on the embedded ledger: the transaction header, its result, its path into the block. */
export interface EmbeddedProof {
  readonly kind: 'embedded';
  readonly tx: TxHeader;
  readonly result: BatchResult;
  readonly txIndex: number;
  readonly txPath: readonly string[];
  readonly block: SignedBlockHeader;
}

export interface Receipt {
  readonly type: typeof RECEIPT_TYPE;
  readonly version: 1;
  readonly record: EvidenceRecord;
  readonly inclusion: InclusionPath;
  readonly ledger: LedgerFacts;
  readonly proof: EmbeddedProof;
  /**
   * Anchors on other chains (added by `upgrade`) and time stamps of trusted time-stamp
   * authorities (added by `timestamp`); absent in a fresh receipt.
   */
  readonly anchors?: readonly ReceiptAnchor[];
}

/** Most anchors one receipt may carry. */
export const MAX_ANCHORS = 16;

const HASH_HEX = { type: 'string', pattern: '^[0-9a-f]{64}$' } as const;
const SHA256 = { type: 'string', pattern: '^sha256:[0-9a-f]{64}$' } as const;
const TIME = {
  type: 'string',
  pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{3}Z$',
} as const;
const INDEX = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER } as const;
const SIZE = { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER } as const;
const PATH = { type: 'array', maxItems: 64, items: HASH_HEX } as const;
const ID = { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$' } as const;

export const txHeaderSchema = {
  type: 'object',
  additionalProperties: false,
  required: [
    'type',
    'txId',
    'chainId',
    'time',
    'creator',
    'contract',
    'fn',
    'argsDigest',
    'resultDigest',
    'writesDigest',
    'eventsDigest',
  ],
  properties: {
    type: { const: 'tx' },
    txId: { type: 'string', pattern: '^[0-9a-f]{64}$' },
    chainId: { type: 'string', pattern: CHAIN_ID_PATTERN },
    time: TIME,
    creator: {
      type: 'object',
      additionalProperties: false,
      required: ['mspId', 'id'],
      properties: { mspId: ID, id: ID, role: ID },
    },
    contract: ID,
    fn: ID,
    argsDigest: SHA256,
    resultDigest: SHA256,
    writesDigest: SHA256,
    eventsDigest: SHA256,
  },
} as const;

export const blockHeaderSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['type', 'chainId', 'number', 'previousHash', 'dataHash', 'txCount', 'time'],
  properties: {
    type: { const: 'block' },
    chainId: { type: 'string', pattern: CHAIN_ID_PATTERN },
    number: INDEX,
    previousHash: { anyOf: [SHA256, { type: 'null' }] },
    dataHash: SHA256,
    txCount: SIZE,
    time: TIME,
  },
} as const;

export const signedBlockHeaderSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['header', 'signature'],
  properties: {
    header: blockHeaderSchema,
    signature: {
      type: 'object',
      additionalProperties: false,
      required: ['algorithm', 'keyId', 'value'],
      properties: {
        algorithm: { type: 'string', enum: [...SIGNATURE_ALGORITHMS] },
        keyId: SHA256,
        value: { type: 'string', pattern: '^[A-Za-z0-9+/]+={0,2}$', maxLength: 512 },
      },
    },
  },
} as const;

/**
 * An anchor proof (`core/anchor.ts` defines the type and checks it). Defined here because it
 * embeds the transaction and block header schemas above.
 */
export const anchorProofSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['kind', 'targetChainId', 'headers', 'anchorTx'],
  properties: {
    kind: { const: 'embedded-anchor' },
    targetChainId: { type: 'string', pattern: CHAIN_ID_PATTERN },
    headers: { type: 'array', maxItems: MAX_ANCHOR_HEADERS, items: blockHeaderSchema },
    anchorTx: {
      type: 'object',
      additionalProperties: false,
      required: ['tx', 'result', 'txIndex', 'txPath', 'block'],
      properties: {
        tx: txHeaderSchema,
        result: recordedAnchorResultSchema,
        txIndex: INDEX,
        txPath: PATH,
        block: signedBlockHeaderSchema,
      },
    },
  },
} as const;

/** A time-stamp anchor (`core/anchor.ts`): an RFC 3161 token over an evidence block's hash. */
export const timestampAnchorSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['kind', 'authority', 'headers', 'token'],
  properties: {
    kind: { const: TIMESTAMP_ANCHOR_KIND },
    authority: { type: 'string', pattern: CHAIN_ID_PATTERN },
    headers: { type: 'array', maxItems: MAX_ANCHOR_HEADERS, items: blockHeaderSchema },
    token: {
      type: 'string',
      minLength: 4,
      maxLength: MAX_TIMESTAMP_TOKEN_CHARS,
      pattern: '^[A-Za-z0-9+/]+={0,2}$',
    },
  },
} as const;

/** Either kind of anchor, told apart by `kind` (so a refusal names the fields of that kind). */
export const receiptAnchorSchema = {
  type: 'object',
  if: {
    type: 'object',
    required: ['kind'],
    properties: { kind: { const: TIMESTAMP_ANCHOR_KIND } },
  },
  then: timestampAnchorSchema,
  else: anchorProofSchema,
} as const;

export const receiptSchema = {
  $id: 'receipt',
  type: 'object',
  additionalProperties: false,
  required: ['type', 'version', 'record', 'inclusion', 'ledger', 'proof'],
  properties: {
    type: { const: RECEIPT_TYPE },
    version: { const: 1 },
    record: evidenceRecordSchema,
    inclusion: {
      type: 'object',
      additionalProperties: false,
      required: ['leafIndex', 'treeSize', 'root', 'path'],
      properties: { leafIndex: INDEX, treeSize: SIZE, root: SHA256, path: PATH },
    },
    ledger: {
      type: 'object',
      additionalProperties: false,
      required: ['kind', 'chainId', 'txId', 'blockNumber', 'time'],
      properties: {
        kind: { const: 'embedded' },
        chainId: { type: 'string', pattern: CHAIN_ID_PATTERN },
        txId: { type: 'string', pattern: '^[0-9a-f]{64}$' },
        blockNumber: INDEX,
        time: TIME,
      },
    },
    proof: {
      type: 'object',
      additionalProperties: false,
      required: ['kind', 'tx', 'result', 'txIndex', 'txPath', 'block'],
      properties: {
        kind: { const: 'embedded' },
        tx: txHeaderSchema,
        result: {
          type: 'object',
          additionalProperties: false,
          required: ['root', 'size'],
          properties: { root: SHA256, size: SIZE },
        },
        txIndex: INDEX,
        txPath: PATH,
        block: signedBlockHeaderSchema,
      },
    },
    // Optional, so receipts issued before anchoring stay valid. Equal proofs twice are refused.
    anchors: {
      type: 'array',
      maxItems: MAX_ANCHORS,
      uniqueItems: true,
      items: receiptAnchorSchema,
    },
  },
} as const;

/** Pattern of any digest (re-exported for schemas that embed receipts). */
export const ANY_DIGEST_PATTERN = DIGEST_PATTERN;

/**
 * Checks a parsed receipt's shape.
 * @throws ValidationError `RECEIPT_MALFORMED` naming every bad field.
 */
export function parseReceipt(value: unknown): Receipt {
  return validateOrThrow<Receipt>(receiptSchema, value, 'receipt', 'RECEIPT_MALFORMED');
}

/**
 * Checks a parsed anchor proof's shape (e.g. before `upgrade` adds it to a receipt).
 * @throws ValidationError `RECEIPT_MALFORMED` naming every bad field.
 */
export function parseAnchorProof(value: unknown): ReceiptAnchor {
  return validateOrThrow<ReceiptAnchor>(
    receiptAnchorSchema,
    value,
    'anchor proof',
    'RECEIPT_MALFORMED',
  );
}
