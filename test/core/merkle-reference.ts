/**
 * A naive RFC 9162 §2.1 reference, written as the RFC's recursive definitions and step lists read,
 * to cross-check core/merkle.ts. It shares no code with core: it does its own hashing, and it is
 * slow on purpose (MTH recomputes whole subtrees), so use it on small trees only, except for the
 * verifiers and path shapes, which are O(log n).
 */

import { createHash } from 'node:crypto';

function sha256(...parts: readonly Uint8Array[]): Buffer {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest();
}

const LEAF = Uint8Array.of(0x00);
const NODE = Uint8Array.of(0x01);

/** RFC 9162 §2.1.1: k is the largest power of two smaller than n. Requires n > 1. */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** RFC 9162 §2.1.1 MTH(D[n]) over the raw entries D. */
export function referenceRoot(entries: readonly Uint8Array[]): Buffer {
  const n = entries.length;
  if (n === 0) return sha256();
  if (n === 1) return sha256(LEAF, entries[0] as Uint8Array);
  const k = split(n);
  return sha256(NODE, referenceRoot(entries.slice(0, k)), referenceRoot(entries.slice(k)));
}

/** RFC 9162 §2.1.3.1 PATH(m, D[n]). Requires 0 <= m < n. */
export function referencePath(m: number, entries: readonly Uint8Array[]): Buffer[] {
  const n = entries.length;
  if (n === 1) return [];
  const k = split(n);
  if (m < k) return [...referencePath(m, entries.slice(0, k)), referenceRoot(entries.slice(k))];
  return [...referencePath(m - k, entries.slice(k)), referenceRoot(entries.slice(0, k))];
}

/**
 * The sides of the siblings on PATH(m, D[n]), leaf side first: the only thing an inclusion
 * verifier learns from the tree size. Requires 0 <= m < n.
 */
export function referencePathShape(m: number, n: number): ('left' | 'right')[] {
  if (n === 1) return [];
  const k = split(n);
  if (m < k) return [...referencePathShape(m, k), 'right'];
  return [...referencePathShape(m - k, n - k), 'left'];
}

/** RFC 9162 §2.1.4.1 PROOF(m, D[n]) = SUBPROOF(m, D[n], true). Requires 0 < m <= n. */
export function referenceConsistencyProof(m: number, entries: readonly Uint8Array[]): Buffer[] {
  return subproof(m, entries, true);
}

function subproof(m: number, entries: readonly Uint8Array[], b: boolean): Buffer[] {
  const n = entries.length;
  if (m === n) return b ? [] : [referenceRoot(entries)];
  const k = split(n);
  if (m <= k) return [...subproof(m, entries.slice(0, k), b), referenceRoot(entries.slice(k))];
  return [...subproof(m - k, entries.slice(k), false), referenceRoot(entries.slice(0, k))];
}

const isOdd = (x: number): boolean => x % 2 === 1;
const half = (x: number): number => Math.floor(x / 2);

/**
 * RFC 9162 §2.1.3.2, steps 1-4: the root that `path` leads to, or `undefined` where the RFC says
 * "fail" on the path's structure. Exact on safe integers.
 */
export function rfcInclusionRoot(
  leafIndex: number,
  treeSize: number,
  hash: Uint8Array,
  path: readonly Uint8Array[],
): Buffer | undefined {
  // Step 1; the RFC's integers are unsigned, so a negative index fails here too.
  if (!(0 <= leafIndex && leafIndex < treeSize)) return undefined;
  let fn = leafIndex;
  let sn = treeSize - 1;
  let r = Buffer.from(hash);
  for (const p of path) {
    if (sn === 0) return undefined;
    if (isOdd(fn) || fn === sn) {
      r = sha256(NODE, p, r);
      while (!isOdd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      r = sha256(NODE, r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 ? r : undefined;
}

/** RFC 9162 §2.1.3.2 in full. */
export function rfcVerifyInclusion(
  leafIndex: number,
  treeSize: number,
  hash: Uint8Array,
  path: readonly Uint8Array[],
  rootHash: Uint8Array,
): boolean {
  const r = rfcInclusionRoot(leafIndex, treeSize, hash, path);
  return r !== undefined && r.equals(rootHash);
}

/**
 * RFC 9162 §2.1.4.2, steps 1-6: the first and second roots `path` leads to, or `undefined` where
 * the RFC says "fail" on the path's structure. Requires 0 < first < second.
 */
export function rfcConsistencyRoots(
  first: number,
  second: number,
  firstHash: Uint8Array,
  path: readonly Uint8Array[],
): { fr: Buffer; sr: Buffer } | undefined {
  if (path.length === 0) return undefined;
  let power = 1;
  while (power < first) power *= 2;
  const consistencyPath = power === first ? [firstHash, ...path] : [...path];
  let fn = first - 1;
  let sn = second - 1;
  while (isOdd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr = Buffer.from(consistencyPath[0] as Uint8Array);
  let sr = fr;
  for (const c of consistencyPath.slice(1)) {
    if (sn === 0) return undefined;
    if (isOdd(fn) || fn === sn) {
      fr = sha256(NODE, c, fr);
      sr = sha256(NODE, c, sr);
      while (!isOdd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      sr = sha256(NODE, sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 ? { fr, sr } : undefined;
}

/**
 * RFC 9162 §2.1.4.2 in full, for 0 < first < second. The RFC defines proofs only there; outside
 * it this follows the convention core documents: equal sizes need an empty path and equal
 * roots, and anything else fails.
 */
export function rfcVerifyConsistency(
  first: number,
  second: number,
  path: readonly Uint8Array[],
  firstHash: Uint8Array,
  secondHash: Uint8Array,
): boolean {
  if (first === second) return path.length === 0 && Buffer.from(firstHash).equals(secondHash);
  if (!(0 < first && first < second)) return false;
  const roots = rfcConsistencyRoots(first, second, firstHash, path);
  return roots !== undefined && roots.fr.equals(firstHash) && roots.sr.equals(secondHash);
}
