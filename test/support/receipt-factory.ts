/**
 * Builds genuine, signed receipts in memory for tests: a fresh node key (Ed25519, or SM2 when
 * asked), one batch, one
 * transaction, one block. Independent of the gateway and the ledger, so verifier tests do not
 * depend on them. {@link makeAnchoredFixture} adds a hash-chained evidence chain around that block
 * and a second, "court" chain whose block records an anchor of it.
 */

import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { buildBatch } from '../../core/batch';
import type { AnchorProof, AnchorRecord, RecordedAnchorResult } from '../../core/anchor';
import {
  blockHash,
  blockSigningBytes,
  txLeafHash,
  valueDigest,
  type BlockHeader,
  type NodeKeyAlgorithm,
  type SignedBlockHeader,
  type TxHeader,
} from '../../core/block';
import { canonicalJson } from '../../core/canonical';
import { digestBytes, formatDigest, type Digest } from '../../core/digest';
import type { EvidenceItem, EvidenceRecord } from '../../core/evidence';
import { buildTree } from '../../core/merkle';
import type { Receipt } from '../../core/receipt';
import { keyIdOf } from '../../core/signature';
import { mergeTrust, type TrustFile } from '../../core/trust';
import { newSm2Key } from './sm2';

export interface NodeKey {
  readonly algorithm: NodeKeyAlgorithm;
  readonly spki: Buffer;
  readonly keyId: ReturnType<typeof keyIdOf>;
  /** Base64 signature of `data`, as a block's. */
  sign(data: Uint8Array): string;
}

export function makeNodeKey(algorithm: NodeKeyAlgorithm = 'ed25519'): NodeKey {
  if (algorithm === 'sm2-sm3') {
    const sm2 = newSm2Key();
    const spki = Buffer.from(sm2.publicKey, 'base64');
    return { algorithm, spki, keyId: sm2.keyId, sign: (data) => sm2.sign(data) };
  }
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  return {
    algorithm,
    spki,
    keyId: keyIdOf(spki),
    sign: (data) => sign(null, data, privateKey).toString('base64'),
  };
}

export function trustFor(chainId: string, key: NodeKey, operator = 'Test node'): TrustFile {
  return {
    type: 'judicial-evidence-trust',
    version: 1,
    chains: [
      {
        kind: 'embedded',
        chainId,
        operator,
        keys: [
          { keyId: key.keyId, algorithm: key.algorithm, publicKey: key.spki.toString('base64') },
        ],
      },
    ],
  };
}

export interface Fixture {
  readonly files: readonly Buffer[];
  readonly receipts: readonly Receipt[];
  readonly trust: TrustFile;
  readonly key: NodeKey;
}

export interface FixtureOptions {
  readonly chainId?: string;
  readonly key?: NodeKey;
  readonly blockNumber?: number;
  /** Other transactions in the same block, around ours (so the tx path is not empty). */
  readonly otherTxs?: number;
  readonly time?: string;
  readonly depositor?: EvidenceRecord['depositor'];
  readonly item?: Partial<EvidenceItem>;
  /** The block's parent hash; random by default (the parent is not part of a plain fixture). */
  readonly previousHash?: Digest;
}

/** Receipts for `files` (random files when a count is given), all deposited in one batch. */
export function makeFixture(
  filesOrCount: readonly Buffer[] | number,
  options: FixtureOptions = {},
): Fixture {
  const files =
    typeof filesOrCount === 'number'
      ? Array.from({ length: filesOrCount }, (_, i) => randomBytes(100 + i))
      : filesOrCount;
  const chainId = options.chainId ?? 'test-chain';
  const key = options.key ?? makeNodeKey();
  const time = options.time ?? '2026-11-28T10:00:00.000Z';
  const depositor = options.depositor ?? { org: 'PlatformOrg', account: 'lawyer-1' };
  const records: EvidenceRecord[] = files.map((file) => {
    const digests = digestBytes(file);
    return {
      ...options.item,
      digests: [digests.sha256, digests.sm3!],
      depositor,
    } as EvidenceRecord;
  });
  const batch = buildBatch(records);
  const result = { root: batch.root, size: records.length };
  const tx: TxHeader = {
    type: 'tx',
    txId: randomBytes(32).toString('hex'),
    chainId,
    time,
    creator: { mspId: 'NodeOrg', id: 'gateway', role: 'gateway' },
    contract: 'evidence',
    fn: 'depositBatch',
    argsDigest: valueDigest([{ records: batch.records, root: batch.root }]),
    resultDigest: valueDigest(result),
    writesDigest: valueDigest([]),
    eventsDigest: valueDigest(null),
  };
  const others = options.otherTxs ?? 2;
  const txIndex = Math.floor(others / 2);
  const txs: TxHeader[] = [];
  for (let i = 0; i <= others; i++) {
    txs.push(i === txIndex ? tx : { ...tx, txId: randomBytes(32).toString('hex'), fn: 'annotate' });
  }
  const txTree = buildTree(txs.map(txLeafHash));
  const header: BlockHeader = {
    type: 'block',
    chainId,
    number: options.blockNumber ?? 7,
    previousHash: options.previousHash ?? formatDigest('sha256', randomBytes(32)),
    dataHash: formatDigest('sha256', txTree.root),
    txCount: txs.length,
    time,
  };
  const signature = key.sign(blockSigningBytes(header));
  const receipts: Receipt[] = batch.records.map((record, leafIndex) => ({
    type: 'judicial-evidence-receipt',
    version: 1,
    record,
    inclusion: {
      leafIndex,
      treeSize: batch.records.length,
      root: batch.root,
      path: batch.tree.inclusionProof(leafIndex).map((h) => Buffer.from(h).toString('hex')),
    },
    ledger: { kind: 'embedded', chainId, txId: tx.txId, blockNumber: header.number, time },
    proof: {
      kind: 'embedded',
      tx,
      result,
      txIndex,
      txPath: txTree.inclusionProof(txIndex).map((h) => Buffer.from(h).toString('hex')),
      block: {
        header,
        signature: { algorithm: key.algorithm, keyId: key.keyId, value: signature },
      },
    },
  }));
  return { files, receipts, trust: trustFor(chainId, key), key };
}

/** Signs `header` with `key` (Ed25519), as a node signs its blocks. */
export function signBlock(header: BlockHeader, key: NodeKey): SignedBlockHeader {
  const value = key.sign(blockSigningBytes(header));
  return { header, signature: { algorithm: key.algorithm, keyId: key.keyId, value } };
}

function addSeconds(time: string, seconds: number): string {
  return new Date(Date.parse(time) + seconds * 1000).toISOString();
}

/** A block holding one filler transaction, linked to `previous` (or the first block, number 0). */
function fillerBlock(
  chainId: string,
  number: number,
  previous: Digest | null,
  time: string,
): BlockHeader {
  const tx: TxHeader = {
    type: 'tx',
    txId: randomBytes(32).toString('hex'),
    chainId,
    time,
    creator: { mspId: 'NodeOrg', id: 'gateway', role: 'gateway' },
    contract: 'evidence',
    fn: 'depositBatch',
    argsDigest: valueDigest([]),
    resultDigest: valueDigest(null),
    writesDigest: valueDigest([]),
    eventsDigest: valueDigest(null),
  };
  return {
    type: 'block',
    chainId,
    number,
    previousHash: previous,
    dataHash: formatDigest('sha256', buildTree([txLeafHash(tx)]).root),
    txCount: 1,
    time,
  };
}

export interface AnchorProofOptions {
  /** What the anchor record names. */
  readonly sourceChainId: string;
  readonly blockNumber: number;
  readonly headerHash: Digest;
  readonly leavesRoot?: Digest;
  /** Evidence headers from the evidence block's successor to the anchored block. */
  readonly headers: readonly BlockHeader[];
  /** The key that signs the target block (need not be pinned: for untrusted cases). */
  readonly courtKey: NodeKey;
  readonly courtChainId?: string;
  readonly courtTime?: string;
  readonly courtBlockNumber?: number;
  /** Other transactions in the target block (so the anchor tx path is not empty). */
  readonly otherTxs?: number;
}

/** A genuine anchor proof: `anchor.recordAnchor` on the court chain, in a block it signed. */
export function makeAnchorProof(options: AnchorProofOptions): AnchorProof {
  const courtChainId = options.courtChainId ?? 'court-chain';
  const time = options.courtTime ?? '2026-11-28T10:10:00.000Z';
  const input = {
    sourceChainId: options.sourceChainId,
    blockNumber: options.blockNumber,
    headerHash: options.headerHash,
    ...(options.leavesRoot ? { leavesRoot: options.leavesRoot } : {}),
  };
  const txId = randomBytes(32).toString('hex');
  const anchor: AnchorRecord = {
    type: 'anchor',
    ...input,
    anchoredBy: { org: 'CourtOrg', account: 'anchor-job' },
    txId,
    time,
  };
  const result: RecordedAnchorResult = { status: 'recorded', anchor };
  const tx: TxHeader = {
    type: 'tx',
    txId,
    chainId: courtChainId,
    time,
    creator: { mspId: 'CourtOrg', id: 'anchor-job', role: 'anchor' },
    contract: 'anchor',
    fn: 'recordAnchor',
    argsDigest: valueDigest([canonicalJson(input)]),
    resultDigest: valueDigest(result),
    writesDigest: valueDigest([]),
    eventsDigest: valueDigest({ name: 'AnchorRecorded', payload: anchor }),
  };
  const others = options.otherTxs ?? 1;
  const txIndex = others;
  const txs: TxHeader[] = [];
  for (let i = 0; i < others; i++) {
    txs.push({ ...tx, txId: randomBytes(32).toString('hex'), fn: 'latestAnchor' });
  }
  txs.push(tx);
  const tree = buildTree(txs.map(txLeafHash));
  const header: BlockHeader = {
    type: 'block',
    chainId: courtChainId,
    number: options.courtBlockNumber ?? 3,
    previousHash: formatDigest('sha256', randomBytes(32)),
    dataHash: formatDigest('sha256', tree.root),
    txCount: txs.length,
    time,
  };
  return {
    kind: 'embedded-anchor',
    targetChainId: courtChainId,
    headers: [...options.headers],
    anchorTx: {
      tx,
      result,
      txIndex,
      txPath: tree.inclusionProof(txIndex).map((h) => Buffer.from(h).toString('hex')),
      block: signBlock(header, options.courtKey),
    },
  };
}

export interface AnchoredFixtureOptions extends FixtureOptions {
  /** Headers from the evidence block to the anchored block (0: the evidence block is anchored). */
  readonly distance?: number;
  readonly courtChainId?: string;
  readonly courtKey?: NodeKey;
  readonly courtTime?: string;
  readonly courtOperator?: string;
}

export interface AnchoredFixture extends Fixture {
  /** The receipts with the anchor proof added. */
  readonly receipts: readonly Receipt[];
  /** The same receipts without it. */
  readonly plain: readonly Receipt[];
  /** Trust file pinning both chains. */
  readonly trust: TrustFile;
  readonly evidenceTrust: TrustFile;
  readonly courtTrust: TrustFile;
  readonly courtKey: NodeKey;
  readonly courtChainId: string;
  /** The whole evidence chain, block 0 to the anchored block, each signed by `key`. */
  readonly chain: readonly SignedBlockHeader[];
  /** Number of the receipts' evidence block. */
  readonly evidenceBlock: number;
  readonly anchor: AnchorProof;
}

/**
 * Receipts for `filesOrCount` in block `blockNumber` (default 5) of a genuine evidence chain
 * (blocks 0 to blockNumber + distance, hash-chained and signed by the evidence key), each carrying
 * one anchor proof: block blockNumber + distance recorded on a court chain signed by another key.
 */
export function makeAnchoredFixture(
  filesOrCount: readonly Buffer[] | number,
  options: AnchoredFixtureOptions = {},
): AnchoredFixture {
  const chainId = options.chainId ?? 'test-chain';
  const key = options.key ?? makeNodeKey();
  const time = options.time ?? '2026-11-28T10:00:00.000Z';
  const evidenceBlock = options.blockNumber ?? 5;
  const distance = options.distance ?? 3;
  const courtKey = options.courtKey ?? makeNodeKey();
  const courtChainId = options.courtChainId ?? 'court-chain';
  const before: BlockHeader[] = [];
  for (let n = 0; n < evidenceBlock; n++) {
    const previous = n === 0 ? null : blockHash(before[n - 1] as BlockHeader);
    before.push(fillerBlock(chainId, n, previous, addSeconds(time, n - evidenceBlock)));
  }
  const base = makeFixture(filesOrCount, {
    ...options,
    chainId,
    key,
    time,
    blockNumber: evidenceBlock,
    ...(evidenceBlock > 0
      ? { previousHash: blockHash(before[evidenceBlock - 1] as BlockHeader) }
      : {}),
  });
  const evidenceHeader = (base.receipts[0] as Receipt).proof.block.header;
  const after: BlockHeader[] = [];
  let previous = evidenceHeader;
  for (let i = 1; i <= distance; i++) {
    const header = fillerBlock(
      chainId,
      evidenceBlock + i,
      blockHash(previous),
      addSeconds(time, i),
    );
    after.push(header);
    previous = header;
  }
  const anchor = makeAnchorProof({
    sourceChainId: chainId,
    blockNumber: previous.number,
    headerHash: blockHash(previous),
    headers: after,
    courtKey,
    courtChainId,
    ...(options.courtTime ? { courtTime: options.courtTime } : {}),
  });
  const evidenceTrust = base.trust;
  const courtTrust = trustFor(courtChainId, courtKey, options.courtOperator ?? 'Test court');
  const chain = [
    ...before.map((h) => signBlock(h, key)),
    (base.receipts[0] as Receipt).proof.block,
    ...after.map((h) => signBlock(h, key)),
  ];
  return {
    files: base.files,
    key,
    plain: base.receipts,
    receipts: base.receipts.map((receipt) => ({ ...receipt, anchors: [anchor] })),
    trust: mergeTrust(evidenceTrust, courtTrust),
    evidenceTrust,
    courtTrust,
    courtKey,
    courtChainId,
    chain,
    evidenceBlock,
    anchor,
  };
}
