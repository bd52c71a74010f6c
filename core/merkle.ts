/**
 * RFC 9162 §2.1 Merkle trees over SHA-256: leaf and node hashes, tree roots, inclusion and
 * consistency proofs, and their verification.
 *
 * Verification mirrors transparency-dev/merkle's Go `proof` package (its names and its algorithm,
 * which is equivalent to the procedures of RFC 9162 §2.1.3.2 and §2.1.4.2). Every argument of a
 * verifier is attacker-controlled, since it comes from a receipt: sizes and indices must be safe
 * integers and hashes exactly 32 bytes, and anything else yields a MerkleProofError, never a
 * RangeError or TypeError.
 *
 * Tree sizes reach Number.MAX_SAFE_INTEGER, but JS bitwise operators truncate to 32 bits, so the
 * bit arithmetic below divides by powers of two instead, which is exact on safe integers.
 */

import { sha256 } from './digest';

/** Bytes in every hash this module takes or returns (SHA-256). */
export const HASH_SIZE = 32;

/** Why a proof or a tree argument was refused. Stable: add codes, never rename one. */
export const MERKLE_PROOF_ERROR_CODES = [
  'INDEX_OUT_OF_RANGE',
  'WRONG_PROOF_SIZE',
  'ROOT_MISMATCH',
  'BAD_HASH_SIZE',
  'BAD_TREE_SIZE',
] as const;

export type MerkleProofErrorCode = (typeof MERKLE_PROOF_ERROR_CODES)[number];

/** A Merkle argument or proof that does not check out. Callers branch on `code`, not on text. */
export class MerkleProofError extends Error {
  readonly code: MerkleProofErrorCode;

  constructor(code: MerkleProofErrorCode, message: string) {
    super(message);
    this.name = 'MerkleProofError';
    this.code = code;
  }
}

const LEAF_PREFIX = 0x00;
const NODE_PREFIX = 0x01;

/**
 * RFC 9162 §2.1.1: the hash of a leaf entry, SHA-256(0x00 || data). Requires bytes. The prefix and
 * data are copied into one buffer and hashed in one call: cheaper than a Hash object fed twice.
 */
export function hashLeaf(data: Uint8Array): Buffer {
  const input = Buffer.allocUnsafe(1 + data.length);
  input[0] = LEAF_PREFIX;
  input.set(data, 1);
  return sha256(input);
}

/**
 * {@link hashLeaf} of the UTF-8 bytes of `text` (`Buffer.from(text, 'utf8')`, or TextEncoder's:
 * the same bytes), without building them first: U+0000 is the single UTF-8 byte 0x00, the leaf
 * prefix, so this is SHA-256 of the UTF-8 of `"\u0000" + text`, hashed in one call.
 */
export function hashLeafUtf8(text: string): Buffer {
  return sha256('\u0000' + text);
}

/**
 * RFC 9162 §2.1.1: the hash of an interior node, SHA-256(0x01 || left || right).
 * @throws MerkleProofError `BAD_HASH_SIZE` unless both children are 32-byte hashes.
 */
export function hashChildren(left: Uint8Array, right: Uint8Array): Buffer {
  requireHash(left, 'left child');
  requireHash(right, 'right child');
  return nodeHash(left, right);
}

/**
 * RFC 9162 §2.1.1: the root of the empty tree, SHA-256 of the empty string. Shared: never mutate
 * it; functions of this module return copies, not this buffer.
 */
export const EMPTY_ROOT: Buffer = sha256(new Uint8Array(0));

/** A Merkle tree built once over its leaf hashes, answering proofs in O(log n) each. */
export interface MerkleTree {
  /** Number of leaves. */
  readonly size: number;
  /** RFC 9162 §2.1.1 MTH; {@link EMPTY_ROOT} for the empty tree. */
  readonly root: Buffer;
  /**
   * The hash of leaf `index`. Requires 0 <= index < size.
   * @throws MerkleProofError `INDEX_OUT_OF_RANGE`.
   */
  leafHash(index: number): Buffer;
  /**
   * RFC 9162 §2.1.3.1 PATH(index, D[size]), leaf side first. Requires 0 <= index < size.
   * @throws MerkleProofError `INDEX_OUT_OF_RANGE`.
   */
  inclusionProof(index: number): Buffer[];
  /**
   * RFC 9162 §2.1.4.1 PROOF(oldSize, D[size]), empty when oldSize equals size.
   * Requires 0 < oldSize <= size, or oldSize = size (a proof from the empty tree is meaningless).
   * @throws MerkleProofError `BAD_TREE_SIZE`.
   */
  consistencyProof(oldSize: number): Buffer[];
}

/**
 * Builds every level of the tree over `leafHashes` once, bottom-up. RFC 9162's recursive split at
 * the largest power of two below n gives the same tree as pairing nodes level by level and
 * carrying an unpaired last node up unchanged, so each proof is then a walk of O(log n) lookups.
 * @throws MerkleProofError `BAD_HASH_SIZE` when a leaf hash is not 32 bytes, `BAD_TREE_SIZE`
 *   when `leafHashes` is not an array.
 */
export function buildTree(leafHashes: readonly Uint8Array[]): MerkleTree {
  return new MerkleTreeImpl(buildLevels(leafHashes));
}

/**
 * RFC 9162 §2.1.1 MTH over leaves that are already hashed with {@link hashLeaf}.
 * @throws MerkleProofError `BAD_HASH_SIZE`, `BAD_TREE_SIZE` as {@link buildTree}.
 */
export function rootOf(leafHashes: readonly Uint8Array[]): Buffer {
  return buildTree(leafHashes).root;
}

/**
 * Checks that `leafHash` is leaf `index` of the tree of `size` leaves whose root is `root`.
 * Requires 0 <= index < size. The proof binds the size only through the root, so take `size` and
 * `root` from the same authenticated source (a signed tree head, a signed block).
 * @throws MerkleProofError `BAD_TREE_SIZE`, `INDEX_OUT_OF_RANGE`, `BAD_HASH_SIZE`,
 *   `WRONG_PROOF_SIZE`, or `ROOT_MISMATCH` when the proof leads to another root.
 */
export function verifyInclusion(
  index: number,
  size: number,
  leafHash: Uint8Array,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): void {
  verifyMatch(rootFromInclusionProof(index, size, leafHash, proof), root, 'root');
}

/**
 * The root of a tree of `size` leaves implied by `leafHash` at `index` and its inclusion proof
 * (RFC 9162 §2.1.3.2). Requires 0 <= index < size.
 * @throws MerkleProofError `BAD_TREE_SIZE`, `INDEX_OUT_OF_RANGE`, `BAD_HASH_SIZE`,
 *   `WRONG_PROOF_SIZE`.
 */
export function rootFromInclusionProof(
  index: number,
  size: number,
  leafHash: Uint8Array,
  proof: readonly Uint8Array[],
): Buffer {
  requireTreeSize(size, 'size');
  if (!isIndex(index) || index >= size) {
    throw new MerkleProofError(
      'INDEX_OUT_OF_RANGE',
      `leaf index ${describeValue(index)} is not in a tree of ${size} leaves`,
    );
  }
  requireHash(leafHash, 'leaf hash');
  const { inner, border } = decompInclProof(index, size);
  requireProof(proof, inner + border);
  const seed = chainInner(leafHash, proof.slice(0, inner), index);
  return Buffer.from(chainBorderRight(seed, proof.slice(inner)));
}

/**
 * Checks that the tree of `size1` leaves with root `root1` is a prefix of the tree of `size2`
 * leaves with root `root2` (RFC 9162 §2.1.4.2). Requires 0 < size1 <= size2, or size1 = size2;
 * equal sizes need an empty proof and equal roots. The proof binds `size2` only through `root2`,
 * so take them from the same authenticated source.
 * @throws MerkleProofError `BAD_TREE_SIZE`, `BAD_HASH_SIZE`, `WRONG_PROOF_SIZE`, or
 *   `ROOT_MISMATCH` when either root does not follow from the proof.
 */
export function verifyConsistency(
  size1: number,
  size2: number,
  proof: readonly Uint8Array[],
  root1: Uint8Array,
  root2: Uint8Array,
): void {
  verifyMatch(rootFromConsistencyProof(size1, size2, proof, root1), root2, 'root2');
}

/**
 * The root of the tree of `size2` leaves implied by the tree of `size1` leaves with root `root1`
 * and a consistency proof between them, after checking that the proof reproduces `root1`.
 * Requires 0 < size1 <= size2, or size1 = size2. A proof from the empty tree is meaningless.
 * @throws MerkleProofError `BAD_TREE_SIZE`, `BAD_HASH_SIZE`, `WRONG_PROOF_SIZE`,
 *   `ROOT_MISMATCH` when the proof does not reproduce `root1`.
 */
export function rootFromConsistencyProof(
  size1: number,
  size2: number,
  proof: readonly Uint8Array[],
  root1: Uint8Array,
): Buffer {
  requireTreeSize(size1, 'size1');
  requireTreeSize(size2, 'size2');
  if (size2 < size1) {
    throw new MerkleProofError('BAD_TREE_SIZE', `size2 ${size2} is smaller than size1 ${size1}`);
  }
  if (size1 === 0 && size2 > 0) {
    throw new MerkleProofError(
      'BAD_TREE_SIZE',
      'a consistency proof from the empty tree is meaningless',
    );
  }
  requireHash(root1, 'root1');
  if (size1 === size2) {
    requireProof(proof, 0);
    return Buffer.from(root1);
  }
  if (!Array.isArray(proof) || proof.length === 0) {
    throw new MerkleProofError(
      'WRONG_PROOF_SIZE',
      'the sizes differ, so the proof cannot be empty',
    );
  }

  const decomposition = decompInclProof(size1 - 1, size2);
  const shift = trailingZeros(size1);
  // shift < inner, because size1 < size2.
  const inner = decomposition.inner - shift;
  const border = decomposition.border;

  // The proof starts with the root of the old tree's last complete subtree, of size 2^shift,
  // unless the old tree is that subtree, whose root the caller supplied as root1.
  const oldIsSubtree = size1 === 2 ** shift;
  const start = oldIsSubtree ? 0 : 1;
  requireProof(proof, start + inner + border);
  const seed = oldIsSubtree ? root1 : (proof[0] as Uint8Array);
  // Now the rest is a suffix of the inclusion proof of leaf size1 - 1 in the tree of size2 leaves.
  const path = proof.slice(start);
  const mask = shiftRight(size1 - 1, shift);

  const hash1 = chainBorderRight(
    chainInnerRight(seed, path.slice(0, inner), mask),
    path.slice(inner),
  );
  verifyMatch(hash1, root1, 'root1');

  const hash2 = chainBorderRight(chainInner(seed, path.slice(0, inner), mask), path.slice(inner));
  return Buffer.from(hash2);
}

/**
 * Splits the inclusion proof of leaf `index` in a tree of `size` leaves where the paths to
 * `index` and to `size - 1` meet: `inner` hashes below that point, `border` hashes of left
 * siblings above it. Their sum is the proof length. Requires 0 <= index < size.
 */
function decompInclProof(index: number, size: number): { inner: number; border: number } {
  const inner = innerProofSize(index, size);
  const border = onesCount(shiftRight(index, inner));
  return { inner, border };
}

/** bits.Len64(index ^ (size - 1)): the levels climbed before the two paths meet. */
function innerProofSize(index: number, size: number): number {
  let a = index;
  let b = size - 1;
  let levels = 0;
  while (a !== b) {
    a = Math.floor(a / 2);
    b = Math.floor(b / 2);
    levels += 1;
  }
  return levels;
}

/**
 * Chains proof hashes, lowest level first, from `seed` at position `index` of its level up to a
 * node on or below the tree's right border; bit i of `index` tells on which side hash i lies.
 */
function chainInner(seed: Uint8Array, proof: readonly Uint8Array[], index: number): Uint8Array {
  let hash = seed;
  let position = index;
  for (const sibling of proof) {
    hash = position % 2 === 0 ? nodeHash(hash, sibling) : nodeHash(sibling, hash);
    position = Math.floor(position / 2);
  }
  return hash;
}

/**
 * Like {@link chainInner}, but takes only the hashes left of the path, which yields the hash of
 * the same subtree as it was in the earlier, smaller tree.
 */
function chainInnerRight(
  seed: Uint8Array,
  proof: readonly Uint8Array[],
  index: number,
): Uint8Array {
  let hash = seed;
  let position = index;
  for (const sibling of proof) {
    if (position % 2 === 1) hash = nodeHash(sibling, hash);
    position = Math.floor(position / 2);
  }
  return hash;
}

/** Chains hashes along the right border, where every sibling lies to the left. */
function chainBorderRight(seed: Uint8Array, proof: readonly Uint8Array[]): Uint8Array {
  let hash = seed;
  for (const sibling of proof) hash = nodeHash(sibling, hash);
  return hash;
}

class MerkleTreeImpl implements MerkleTree {
  /** levels[0] holds the leaf hashes; each level is its nodes' hashes back to back. */
  readonly #levels: readonly Buffer[];
  readonly #size: number;

  constructor(levels: readonly Buffer[]) {
    this.#levels = levels;
    this.#size = width(levels[0] as Buffer);
  }

  get size(): number {
    return this.#size;
  }

  get root(): Buffer {
    if (this.#size === 0) return Buffer.from(EMPTY_ROOT);
    return this.#node(this.#levels.length - 1, 0);
  }

  leafHash(index: number): Buffer {
    this.#requireLeaf(index);
    return this.#node(0, index);
  }

  inclusionProof(index: number): Buffer[] {
    this.#requireLeaf(index);
    return this.#path(0, index);
  }

  consistencyProof(oldSize: number): Buffer[] {
    if (!isIndex(oldSize) || oldSize > this.#size) {
      throw new MerkleProofError(
        'BAD_TREE_SIZE',
        `old size ${describeValue(oldSize)} is not in 0..${this.#size}`,
      );
    }
    if (oldSize === this.#size) return [];
    if (oldSize === 0) {
      throw new MerkleProofError(
        'BAD_TREE_SIZE',
        'a consistency proof from the empty tree is meaningless',
      );
    }
    // As transparency-dev proof.Consistency: the inclusion path of leaf oldSize - 1, starting at
    // the root of the old tree's last complete subtree, which leads the proof unless that subtree
    // is the whole old tree (oldSize a power of two).
    const level = trailingZeros(oldSize);
    const index = shiftRight(oldSize - 1, level);
    const proof = this.#path(level, index);
    if (index !== 0) proof.unshift(this.#node(level, index));
    return proof;
  }

  #requireLeaf(index: number): void {
    if (!isIndex(index) || index >= this.#size) {
      throw new MerkleProofError(
        'INDEX_OUT_OF_RANGE',
        `leaf index ${describeValue(index)} is not in a tree of ${this.#size} leaves`,
      );
    }
  }

  /** Siblings of the node at (level, index) and of its ancestors, lowest first. */
  #path(level: number, index: number): Buffer[] {
    const proof: Buffer[] = [];
    let position = index;
    for (let l = level; l < this.#levels.length - 1; l += 1) {
      const sibling = position % 2 === 0 ? position + 1 : position - 1;
      // A missing sibling means the node is the unpaired last one, carried up unchanged.
      if (sibling < width(this.#levels[l] as Buffer)) proof.push(this.#node(l, sibling));
      position = Math.floor(position / 2);
    }
    return proof;
  }

  /** A copy, so callers cannot alter the tree. */
  #node(level: number, index: number): Buffer {
    const start = index * HASH_SIZE;
    return Buffer.from((this.#levels[level] as Buffer).subarray(start, start + HASH_SIZE));
  }
}

function buildLevels(leafHashes: readonly Uint8Array[]): Buffer[] {
  if (!Array.isArray(leafHashes)) {
    throw new MerkleProofError(
      'BAD_TREE_SIZE',
      `leaf hashes are ${describeValue(leafHashes)}, not a list`,
    );
  }
  let level = Buffer.alloc(leafHashes.length * HASH_SIZE);
  // Index loops, not forEach: a sparse array's holes must be refused, not skipped.
  for (let i = 0; i < leafHashes.length; i += 1) {
    const hash: unknown = leafHashes[i];
    requireHash(hash, `leaf hash ${i}`);
    level.set(hash, i * HASH_SIZE);
  }
  const levels = [level];
  while (width(level) > 1) {
    const count = width(level);
    const next = Buffer.alloc(Math.ceil(count / 2) * HASH_SIZE);
    for (let i = 0; i + 1 < count; i += 2) {
      next.set(nodeHash(slot(level, i), slot(level, i + 1)), (i / 2) * HASH_SIZE);
    }
    if (count % 2 === 1) next.set(slot(level, count - 1), ((count - 1) / 2) * HASH_SIZE);
    levels.push(next);
    level = next;
  }
  return levels;
}

function width(level: Buffer): number {
  return level.length / HASH_SIZE;
}

function slot(level: Buffer, index: number): Buffer {
  return level.subarray(index * HASH_SIZE, (index + 1) * HASH_SIZE);
}

/**
 * The input of {@link nodeHash} for two 32-byte children, reused: hashing is synchronous and the
 * buffer never leaves this module, so no call sees another's bytes.
 */
const NODE_INPUT = Buffer.alloc(1 + 2 * HASH_SIZE, NODE_PREFIX);

/** SHA-256(0x01 || left || right), in one call over one buffer as {@link hashLeaf}. */
function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  if (left.length === HASH_SIZE && right.length === HASH_SIZE) {
    NODE_INPUT.set(left, 1);
    NODE_INPUT.set(right, 1 + HASH_SIZE);
    return sha256(NODE_INPUT);
  }
  const input = Buffer.allocUnsafe(1 + left.length + right.length);
  input[0] = NODE_PREFIX;
  input.set(left, 1);
  input.set(right, 1 + left.length);
  return sha256(input);
}

function verifyMatch(calculated: Uint8Array, expected: Uint8Array, name: string): void {
  requireHash(expected, name);
  if (!Buffer.from(calculated).equals(expected)) {
    throw new MerkleProofError('ROOT_MISMATCH', `the proof does not lead to ${name}`);
  }
}

function requireHash(value: unknown, name: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array) || value.length !== HASH_SIZE) {
    throw new MerkleProofError(
      'BAD_HASH_SIZE',
      `${name} is ${describeValue(value)}, not ${HASH_SIZE} bytes`,
    );
  }
}

/** A proof must be a list of exactly `length` hashes. */
function requireProof(proof: unknown, length: number): asserts proof is readonly Uint8Array[] {
  if (!Array.isArray(proof)) {
    throw new MerkleProofError('WRONG_PROOF_SIZE', `proof is ${describeValue(proof)}, not a list`);
  }
  if (proof.length !== length) {
    throw new MerkleProofError(
      'WRONG_PROOF_SIZE',
      `proof has ${proof.length} hashes, the sizes need ${length}`,
    );
  }
  for (let i = 0; i < length; i += 1) requireHash(proof[i], `proof[${i}]`);
}

function requireTreeSize(size: unknown, name: string): asserts size is number {
  if (!isIndex(size)) {
    throw new MerkleProofError(
      'BAD_TREE_SIZE',
      `${name} ${describeValue(size)} is not a tree size`,
    );
  }
}

/** A safe non-negative integer: the only numbers the bit arithmetic below is exact on. */
function isIndex(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

/** floor(value / 2^bits); exact on safe integers, unlike `>>`, which truncates to 32 bits. */
function shiftRight(value: number, bits: number): number {
  return Math.floor(value / 2 ** bits);
}

/** bits.OnesCount64. Requires a safe non-negative integer. */
function onesCount(value: number): number {
  let ones = 0;
  for (let rest = value; rest > 0; rest = Math.floor(rest / 2)) ones += rest % 2;
  return ones;
}

/** bits.TrailingZeros64. Requires a safe positive integer. */
function trailingZeros(value: number): number {
  let zeros = 0;
  for (let rest = value; rest % 2 === 0; rest /= 2) zeros += 1;
  return zeros;
}

/**
 * Names an untrusted value for a message without calling anything on it (a hostile object's
 * `toString` could throw).
 */
function describeValue(value: unknown): string {
  if (typeof value === 'number') return String(value);
  if (value === null) return 'null';
  if (value instanceof Uint8Array) return `${value.length} bytes`;
  if (Array.isArray(value)) return 'a list';
  return `a value of type ${typeof value}`;
}
