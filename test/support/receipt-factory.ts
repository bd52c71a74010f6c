/**
 * Builds genuine, signed receipts in memory for tests: a fresh Ed25519 node key, one batch, one
 * transaction, one block. Independent of the gateway and the ledger, so verifier tests do not
 * depend on them.
 */

import { generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { buildBatch } from '../../core/batch';
import {
  blockSigningBytes,
  txLeafHash,
  valueDigest,
  type BlockHeader,
  type TxHeader,
} from '../../core/block';
import { digestBytes, formatDigest } from '../../core/digest';
import type { EvidenceItem, EvidenceRecord } from '../../core/evidence';
import { buildTree } from '../../core/merkle';
import type { Receipt } from '../../core/receipt';
import { keyIdOf } from '../../core/signature';
import type { TrustFile } from '../../core/trust';

export interface NodeKey {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly spki: Buffer;
  readonly keyId: ReturnType<typeof keyIdOf>;
}

export function makeNodeKey(): NodeKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  return { privateKey, publicKey, spki, keyId: keyIdOf(spki) };
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
        keys: [{ keyId: key.keyId, algorithm: 'ed25519', publicKey: key.spki.toString('base64') }],
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
}

/** Receipts for `files` (random files when a count is given), all deposited in one batch. */
export function makeFixture(filesOrCount: readonly Buffer[] | number, options: FixtureOptions = {}): Fixture {
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
    previousHash: formatDigest('sha256', randomBytes(32)),
    dataHash: formatDigest('sha256', txTree.root),
    txCount: txs.length,
    time,
  };
  const signature = sign(null, blockSigningBytes(header), key.privateKey).toString('base64');
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
      block: { header, signature: { algorithm: 'ed25519', keyId: key.keyId, value: signature } },
    },
  }));
  return { files, receipts, trust: trustFor(chainId, key), key };
}
