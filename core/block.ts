/**
 * Transactions and blocks of the embedded ledger, and the bytes that are hashed and signed.
 *
 * A transaction header commits to its call, arguments, result, writes and events by digest, so a
 * receipt carries the header and the small result (the batch root) without the batch itself. A
 * block header commits to its transactions by an RFC 9162 root over their leaf hashes and to its
 * parent by the parent header's hash; the node key signs the header's canonical bytes.
 */

import { canonicalBytes, canonicalJson } from './canonical';
import { formatDigest, sha256, type Digest } from './digest';
import { hashLeafUtf8, MerkleProofError, rootFromInclusionProof } from './merkle';

/** The identity that submitted a transaction, as the chaincode's client identity saw it. */
export interface TxCreator {
  readonly mspId: string;
  readonly id: string;
  readonly role?: string;
}

/** What is hashed into a block for one transaction. */
export interface TxHeader {
  readonly type: 'tx';
  readonly txId: string;
  readonly chainId: string;
  /** Chain time: RFC 3339 UTC with milliseconds. */
  readonly time: string;
  readonly creator: TxCreator;
  readonly contract: string;
  readonly fn: string;
  readonly argsDigest: Digest;
  readonly resultDigest: Digest;
  readonly writesDigest: Digest;
  readonly eventsDigest: Digest;
}

export interface BlockHeader {
  readonly type: 'block';
  readonly chainId: string;
  readonly number: number;
  /** Hash of the parent header, `null` for block 0. */
  readonly previousHash: Digest | null;
  /** RFC 9162 root over `hashLeaf(canonicalBytes(txHeader))` of the block's transactions. */
  readonly dataHash: Digest;
  readonly txCount: number;
  /** Chain time of the block: the time of its last transaction. */
  readonly time: string;
}

export const SIGNATURE_ALGORITHMS = ['ed25519', 'ecdsa-p256-sha256', 'sm2-sm3'] as const;
export type SignatureAlgorithm = (typeof SIGNATURE_ALGORITHMS)[number];

/**
 * What an embedded node may sign its blocks with: Ed25519 (RFC 8032), or SM2 with SM3 (GB/T
 * 32918, GM/T 0003, signer ID {@link DEFAULT_SM2_USER_ID}) where national (GM) cryptography is
 * required.
 */
export const NODE_KEY_ALGORITHMS = ['ed25519', 'sm2-sm3'] as const;
export type NodeKeyAlgorithm = (typeof NODE_KEY_ALGORITHMS)[number];

/** GM/T 0009-2012's default signer ID, the one SM2 block signatures compute Z with. */
export const DEFAULT_SM2_USER_ID = '1234567812345678';

export interface Signature {
  readonly algorithm: SignatureAlgorithm;
  /** `sha256:` digest of the signer's SubjectPublicKeyInfo (DER). */
  readonly keyId: Digest;
  /** Base64 signature value. */
  readonly value: string;
}

export interface SignedBlockHeader {
  readonly header: BlockHeader;
  readonly signature: Signature;
}

// The hashes below are of canonicalBytes(...), the UTF-8 of canonicalJson(...). They are given the
// text, which the hash functions encode as UTF-8 themselves, so those bytes are not built first.

/** Leaf hash of a transaction header in its block's data tree: `hashLeaf(canonicalBytes(tx))`. */
export function txLeafHash(tx: TxHeader): Buffer {
  return hashLeafUtf8(canonicalJson(tx));
}

/** SHA-256 of a block header's canonical bytes: what the next block names as `previousHash`. */
export function blockHash(header: BlockHeader): Digest {
  return formatDigest('sha256', sha256(canonicalJson(header)));
}

/** The exact bytes the node key signs for a block header (domain separated from other payloads). */
export function blockSigningBytes(header: BlockHeader): Uint8Array {
  return canonicalBytes({ header, purpose: 'judicial-evidence/block-header/v1' });
}

/** `sha256:` digest of the canonical bytes of any value (arguments, results, writes, events). */
export function valueDigest(value: unknown): Digest {
  return formatDigest('sha256', sha256(canonicalJson(value)));
}

/**
 * Why the hex inclusion path `hexPath` does NOT lead from `leafHash` (leaf `index` of a tree of
 * `size`) to `root`: a MerkleProofError code when the path is malformed for that position,
 * `'mismatch'` when it is well formed but reaches another root; `undefined` when it leads there.
 * Never throws: every argument may be attacker-controlled.
 */
export function inclusionPathProblem(
  index: number,
  size: number,
  leafHash: Uint8Array,
  hexPath: readonly string[],
  root: Digest,
): string | undefined {
  let computed: Buffer;
  try {
    computed = rootFromInclusionProof(
      index,
      size,
      leafHash,
      hexPath.map((hex) => Buffer.from(hex, 'hex')),
    );
  } catch (error) {
    return error instanceof MerkleProofError ? error.code : 'unknown';
  }
  return formatDigest('sha256', computed) === root ? undefined : 'mismatch';
}
