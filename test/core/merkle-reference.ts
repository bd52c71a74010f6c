/**
 * A naive RFC 9162 §2.1 reference, written as the RFC's recursive definitions and step lists read,
 * to cross-check core/merkle.ts. It shares no code with core and does its own hashing. Proofs
 * cost O(n) here, so use them on small trees; the verifiers and path shapes are O(log n).
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

/** RFC 9162 §2.1.1 MTH, §2.1.3.1 PATH and §2.1.4.1 PROOF over the prefixes D[0:n] of one log. */
export interface ReferenceLog {
  /** MTH(D[0:n]). Requires 0 <= n <= entries. */
  root(n: number): Buffer;
  /** PATH(m, D[0:n]). Requires 0 <= m < n <= entries. */
  path(m: number, n: number): Buffer[];
  /** PROOF(m, D[0:n]) = SUBPROOF(m, D[0:n], true). Requires 0 < m <= n <= entries. */
  proof(m: number, n: number): Buffer[];
}

/**
 * The RFC's definitions over ranges D[lo:hi] of `entries`, recursing exactly as written. MTH of a
 * range is memoised: the definitions are pure, and without it checking every proof of every tree
 * up to a few hundred leaves would take cubic time.
 */
export function referenceLog(entries: readonly Uint8Array[]): ReferenceLog {
  const memo = new Map<string, Buffer>();

  // MTH(D[lo:hi])
  const mth = (lo: number, hi: number): Buffer => {
    const key = `${lo}:${hi}`;
    let hash = memo.get(key);
    if (hash === undefined) {
      const n = hi - lo;
      if (n === 0) hash = sha256();
      else if (n === 1) hash = sha256(LEAF, entries[lo] as Uint8Array);
      else hash = sha256(NODE, mth(lo, lo + split(n)), mth(lo + split(n), hi));
      memo.set(key, hash);
    }
    return hash;
  };

  // PATH(m, D[lo:hi])
  const path = (m: number, lo: number, hi: number): Buffer[] => {
    const n = hi - lo;
    if (n === 1) return [];
    const k = split(n);
    if (m < k) return [...path(m, lo, lo + k), mth(lo + k, hi)];
    return [...path(m - k, lo + k, hi), mth(lo, lo + k)];
  };

  // SUBPROOF(m, D[lo:hi], b)
  const subproof = (m: number, lo: number, hi: number, b: boolean): Buffer[] => {
    const n = hi - lo;
    if (m === n) return b ? [] : [mth(lo, hi)];
    const k = split(n);
    if (m <= k) return [...subproof(m, lo, lo + k, b), mth(lo + k, hi)];
    return [...subproof(m - k, lo + k, hi, false), mth(lo, lo + k)];
  };

  const requireRange = (ok: boolean, what: string): void => {
    if (!ok) throw new Error(`reference: ${what} is outside its definition`);
  };

  return {
    root: (n) => {
      requireRange(0 <= n && n <= entries.length, `MTH(D[0:${n}])`);
      return mth(0, n);
    },
    path: (m, n) => {
      requireRange(0 <= m && m < n && n <= entries.length, `PATH(${m}, D[0:${n}])`);
      return path(m, 0, n);
    },
    proof: (m, n) => {
      requireRange(0 < m && m <= n && n <= entries.length, `PROOF(${m}, D[0:${n}])`);
      return subproof(m, 0, n, true);
    },
  };
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
  let r: Buffer = Buffer.from(hash);
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
  let fr: Buffer = Buffer.from(consistencyPath[0] as Uint8Array);
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
