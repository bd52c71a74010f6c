import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import {
  EMPTY_ROOT,
  HASH_SIZE,
  MERKLE_PROOF_ERROR_CODES,
  MerkleProofError,
  buildTree,
  hashChildren,
  hashLeaf,
  hashLeafUtf8,
  rootFromConsistencyProof,
  rootFromInclusionProof,
  rootOf,
  verifyConsistency,
  verifyInclusion,
} from '../../core/merkle';
import {
  CONSISTENCY_MUTATIONS,
  INCLUSION_MUTATIONS,
  consistencyMutations,
  generateMerkleVectors,
  inclusionMutations,
  type ConsistencyClaim,
  type ConsistencyFile,
  type InclusionClaim,
  type InclusionFile,
  type RootsFile,
} from '../vectors/generate-merkle';
import {
  referenceLog,
  referencePathShape,
  rfcConsistencyRoots,
  rfcInclusionRoot,
  rfcVerifyConsistency,
  rfcVerifyInclusion,
} from './merkle-reference';

/** Every tree of 1..CROSS_CHECK_MAX_SIZE leaves is checked against the naive reference. */
const CROSS_CHECK_MAX_SIZE = 130;
/** Every valid proof in trees of 1..MUTATION_MAX_SIZE leaves is mutated. */
const MUTATION_MAX_SIZE = 32;
const VECTOR_DIR = path.resolve(__dirname, '../vectors/merkle');

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const unhex = (text: string): Buffer => Buffer.from(text, 'hex');
const sha256 = (text: string): Buffer => createHash('sha256').update(text).digest();

/** Entries of distinct contents and lengths. */
const ENTRIES: readonly Buffer[] = Array.from({ length: CROSS_CHECK_MAX_SIZE }, (_, i) =>
  Buffer.from(`entry ${i}`),
);
const LEAF_HASHES: readonly Buffer[] = ENTRIES.map(hashLeaf);
const REFERENCE = referenceLog(ENTRIES);
/** REFERENCE_ROOTS[n] = MTH(D[0:n]). */
const REFERENCE_ROOTS: readonly Buffer[] = Array.from(
  { length: CROSS_CHECK_MAX_SIZE + 1 },
  (_, n) => REFERENCE.root(n),
);

const at = <T>(list: readonly T[], index: number): T => {
  const value = list[index];
  if (value === undefined) throw new Error(`no element ${index}`);
  return value;
};

/** 'OK', the code of the MerkleProofError thrown, or a description of any other throw. */
function outcome(call: () => unknown): string {
  try {
    call();
    return 'OK';
  } catch (error) {
    if (error instanceof MerkleProofError) return error.code;
    return error instanceof Error ? `${error.name}: ${error.message}` : 'a non-Error throw';
  }
}

function validInclusionClaims(maxSize: number): InclusionClaim[] {
  const claims: InclusionClaim[] = [];
  for (let size = 1; size <= maxSize; size += 1) {
    for (let index = 0; index < size; index += 1) {
      const leafHash = at(LEAF_HASHES, index);
      const proof = REFERENCE.path(index, size);
      claims.push({ index, size, leafHash, proof, root: at(REFERENCE_ROOTS, size) });
    }
  }
  return claims;
}

function validConsistencyClaims(maxSize: number): ConsistencyClaim[] {
  const claims: ConsistencyClaim[] = [];
  for (let size2 = 2; size2 <= maxSize; size2 += 1) {
    for (let size1 = 1; size1 < size2; size1 += 1) {
      const proof = REFERENCE.proof(size1, size2);
      const root1 = at(REFERENCE_ROOTS, size1);
      claims.push({ size1, size2, proof, root1, root2: at(REFERENCE_ROOTS, size2) });
    }
  }
  return claims;
}

/** Hashes standing in for a proof, for sizes too large to build. */
const fakeProof = (length: number): Buffer[] =>
  Array.from({ length }, (_, i) => sha256(`proof ${i}`));

/** Values that are not tree sizes or indices, as a hostile receipt may carry them. */
const BAD_NUMBERS: readonly [string, unknown][] = [
  ['NaN', NaN],
  ['-1', -1],
  ['1.5', 1.5],
  ['2**53', 2 ** 53],
  ['2**60', 2 ** 60],
  ['Infinity', Infinity],
  ['null', null],
  ['undefined', undefined],
  ['a numeric string', '1'],
  ['a bigint', 1n],
  ['an object', { valueOf: () => 1 }],
];

/** Values that are not 32-byte hashes. */
const BAD_HASHES: readonly [string, unknown][] = [
  ['31 bytes', Buffer.alloc(31)],
  ['33 bytes', Buffer.alloc(33)],
  ['empty', new Uint8Array(0)],
  ['null', null],
  ['undefined', undefined],
  ['a hex string', 'ab'.repeat(16)],
  ['a plain array of 32 numbers', new Array<number>(32).fill(0)],
  ['a 32-byte Uint16Array', new Uint16Array(16)],
  [
    'an object with a throwing toString',
    {
      toString: () => {
        throw new Error('boom');
      },
    },
  ],
];

describe('hashLeaf', () => {
  it('hashes 0x00 || data (RFC 9162 §2.1.1)', () => {
    const data = Buffer.from('evidence');
    const expected = createHash('sha256')
      .update(Buffer.from([0]))
      .update(data)
      .digest();
    expect(hex(hashLeaf(data))).toBe(hex(expected));
  });

  it('gives the known hash of the empty entry', () => {
    expect(hex(hashLeaf(new Uint8Array(0)))).toBe(
      '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
    );
  });

  it('hashes 0x00 || data for any bytes, views into larger buffers included', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(8), (bytes, offset) => {
        const backing = new Uint8Array(offset + bytes.length + 3).fill(0xaa);
        backing.set(bytes, offset);
        const view = backing.subarray(offset, offset + bytes.length);
        const expected = createHash('sha256').update(Buffer.of(0)).update(bytes).digest();
        expect(hex(hashLeaf(view))).toBe(hex(expected));
        expect(hex(hashLeaf(bytes))).toBe(hex(expected));
      }),
      { numRuns: 300 },
    );
  });
});

describe('hashLeafUtf8', () => {
  it('is hashLeaf of the UTF-8 bytes of the text, lone surrogates and U+0000 included', () => {
    const text = fc.string({
      unit: fc.oneof(
        fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code)),
        fc.constantFrom('\u0000', '\ud800', '\udfff', '\ud83d\ude00', '\u8bc1'),
      ),
      maxLength: 40,
    });
    fc.assert(
      fc.property(text, (value) => {
        const expected = hex(hashLeaf(new TextEncoder().encode(value)));
        expect(hex(hashLeafUtf8(value))).toBe(expected);
        expect(hex(hashLeaf(Buffer.from(value, 'utf8')))).toBe(expected);
      }),
      { numRuns: 500 },
    );
    expect(hex(hashLeafUtf8(''))).toBe(hex(hashLeaf(new Uint8Array(0))));
  });
});

describe('hashChildren', () => {
  it('hashes 0x01 || left || right (RFC 9162 §2.1.1)', () => {
    const left = sha256('left');
    const right = sha256('right');
    const expected = createHash('sha256')
      .update(Buffer.from([1]))
      .update(left)
      .update(right)
      .digest();
    expect(hex(hashChildren(left, right))).toBe(hex(expected));
  });

  it('returns a fresh buffer each time, unchanged by later calls', () => {
    const left = sha256('left');
    const right = sha256('right');
    const first = hashChildren(left, right);
    const copy = Buffer.from(first);
    const second = hashChildren(right, left);
    hashChildren(first, second);
    expect(first.equals(copy)).toBe(true);
    expect(first.equals(second)).toBe(false);
    expect(hex(second)).toBe(
      hex(createHash('sha256').update(Buffer.of(1)).update(right).update(left).digest()),
    );
  });

  it.each(BAD_HASHES)('rejects a child that is %s', (_, bad) => {
    expect(outcome(() => hashChildren(bad as Uint8Array, sha256('right')))).toBe('BAD_HASH_SIZE');
    expect(outcome(() => hashChildren(sha256('left'), bad as Uint8Array))).toBe('BAD_HASH_SIZE');
  });
});

describe('EMPTY_ROOT', () => {
  it('is the SHA-256 of the empty string', () => {
    expect(hex(EMPTY_ROOT)).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
  });
});

describe('MerkleProofError', () => {
  it('carries one of the stable codes', () => {
    const error = new MerkleProofError('ROOT_MISMATCH', 'x');
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('MerkleProofError');
    expect(MERKLE_PROOF_ERROR_CODES).toContain(error.code);
  });
});

describe('rootOf', () => {
  it(`matches the reference MTH for every tree of 0 to ${CROSS_CHECK_MAX_SIZE} leaves`, () => {
    for (let n = 0; n <= CROSS_CHECK_MAX_SIZE; n += 1) {
      expect(hex(rootOf(LEAF_HASHES.slice(0, n))), `MTH(D[${n}])`).toBe(
        hex(at(REFERENCE_ROOTS, n)),
      );
    }
  });

  it('returns a copy of the empty root, not the shared constant', () => {
    const root = rootOf([]);
    expect(root).not.toBe(EMPTY_ROOT);
    root.fill(0);
    expect(hex(EMPTY_ROOT)).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
  });

  it.each(BAD_HASHES)('rejects a leaf hash that is %s', (_, bad) => {
    const leaves = [at(LEAF_HASHES, 0), bad, at(LEAF_HASHES, 1)] as Uint8Array[];
    expect(outcome(() => rootOf(leaves))).toBe('BAD_HASH_SIZE');
  });
});

describe('buildTree', () => {
  it(`produces the reference root and PATH for every leaf of every tree of 1 to ${CROSS_CHECK_MAX_SIZE} leaves`, () => {
    for (let n = 1; n <= CROSS_CHECK_MAX_SIZE; n += 1) {
      const tree = buildTree(LEAF_HASHES.slice(0, n));
      expect(tree.size).toBe(n);
      expect(hex(tree.root), `MTH(D[${n}])`).toBe(hex(at(REFERENCE_ROOTS, n)));
      for (let m = 0; m < n; m += 1) {
        expect(hex(tree.leafHash(m))).toBe(hex(at(LEAF_HASHES, m)));
        expect(tree.inclusionProof(m).map(hex), `PATH(${m}, D[${n}])`).toEqual(
          REFERENCE.path(m, n).map(hex),
        );
      }
    }
  });

  it(`produces the reference PROOF for every pair of sizes 0 < m <= n <= ${CROSS_CHECK_MAX_SIZE}`, () => {
    for (let n = 1; n <= CROSS_CHECK_MAX_SIZE; n += 1) {
      const tree = buildTree(LEAF_HASHES.slice(0, n));
      for (let m = 1; m <= n; m += 1) {
        expect(tree.consistencyProof(m).map(hex), `PROOF(${m}, D[${n}])`).toEqual(
          REFERENCE.proof(m, n).map(hex),
        );
      }
    }
  });

  it('gives the empty tree the empty root, no leaves and only the trivial consistency proof', () => {
    const tree = buildTree([]);
    expect(tree.size).toBe(0);
    expect(hex(tree.root)).toBe(hex(EMPTY_ROOT));
    expect(outcome(() => tree.leafHash(0))).toBe('INDEX_OUT_OF_RANGE');
    expect(outcome(() => tree.inclusionProof(0))).toBe('INDEX_OUT_OF_RANGE');
    expect(tree.consistencyProof(0)).toEqual([]);
  });

  it('returns copies, so a caller cannot alter the tree', () => {
    const tree = buildTree(LEAF_HASHES.slice(0, 5));
    const root = hex(tree.root);
    tree.root.fill(0);
    tree.leafHash(2).fill(0);
    for (const hash of tree.inclusionProof(2)) hash.fill(0);
    for (const hash of tree.consistencyProof(3)) hash.fill(0);
    expect(hex(tree.root)).toBe(root);
    verifyInclusion(2, 5, at(LEAF_HASHES, 2), tree.inclusionProof(2), tree.root);
  });

  it('does not follow later changes to the caller’s leaf array', () => {
    const leaves: Buffer[] = LEAF_HASHES.slice(0, 4).map((hash) => Buffer.from(hash));
    const tree = buildTree(leaves);
    at(leaves, 0).fill(0);
    leaves.push(at(LEAF_HASHES, 4));
    expect(tree.size).toBe(4);
    expect(hex(tree.root)).toBe(hex(at(REFERENCE_ROOTS, 4)));
  });

  it.each(BAD_HASHES)('rejects a leaf hash that is %s', (_, bad) => {
    expect(outcome(() => buildTree([bad as Uint8Array]))).toBe('BAD_HASH_SIZE');
  });

  it('rejects a sparse leaf array', () => {
    expect(outcome(() => buildTree(new Array<Uint8Array>(3)))).toBe('BAD_HASH_SIZE');
  });

  it.each([
    ['null', null],
    ['an object', { length: 1, 0: Buffer.alloc(32) }],
  ])('rejects leaf hashes that are %s', (_, bad) => {
    expect(outcome(() => buildTree(bad as unknown as Uint8Array[]))).toBe('BAD_TREE_SIZE');
  });

  it.each([...BAD_NUMBERS, ['the tree size', 5]])('rejects a leaf index that is %s', (_, bad) => {
    const tree = buildTree(LEAF_HASHES.slice(0, 5));
    expect(outcome(() => tree.leafHash(bad as number))).toBe('INDEX_OUT_OF_RANGE');
    expect(outcome(() => tree.inclusionProof(bad as number))).toBe('INDEX_OUT_OF_RANGE');
  });

  it.each([...BAD_NUMBERS, ['0', 0], ['past the tree size', 6]])(
    'rejects an old size that is %s',
    (_, bad) => {
      const tree = buildTree(LEAF_HASHES.slice(0, 5));
      expect(outcome(() => tree.consistencyProof(bad as number))).toBe('BAD_TREE_SIZE');
    },
  );

  it('answers every inclusion proof of a 100,000-leaf tree in O(n log n)', () => {
    const n = 100_000;
    const leaves = Array.from({ length: n }, (_, i) => hashLeaf(Buffer.from(`leaf ${i}`)));
    const tree = buildTree(leaves);
    const root = tree.root;
    expect(hex(rootOf(leaves))).toBe(hex(root));
    for (let i = 0; i < n; i += 1) {
      const proof = tree.inclusionProof(i);
      if (proof.length !== referencePathShape(i, n).length) {
        expect.fail(`proof of leaf ${i} has ${proof.length} hashes`);
      }
      if (i % 997 === 0 || i === n - 1) verifyInclusion(i, n, at(leaves, i), proof, root);
    }
    for (const m of [1, 2, 3, 4095, 65_536, 65_537, 99_999, n]) {
      verifyConsistency(m, n, tree.consistencyProof(m), rootOf(leaves.slice(0, m)), root);
    }
  }, 10_000);
});

describe('verifyInclusion', () => {
  it(`accepts every proof of every tree of 1 to ${CROSS_CHECK_MAX_SIZE} leaves, as the RFC procedure does`, () => {
    for (const { index, size, leafHash, proof, root } of validInclusionClaims(
      CROSS_CHECK_MAX_SIZE,
    )) {
      const label = `leaf ${index} of ${size}`;
      expect(
        outcome(() => verifyInclusion(index, size, leafHash, proof, root)),
        label,
      ).toBe('OK');
      expect(hex(rootFromInclusionProof(index, size, leafHash, proof)), label).toBe(hex(root));
      expect(rfcVerifyInclusion(index, size, leafHash, proof, root), label).toBe(true);
    }
  });

  describe('rejects mutated proofs (transparency-dev style) as the RFC 9162 procedure does', () => {
    const probes = validInclusionClaims(MUTATION_MAX_SIZE).flatMap(inclusionMutations);

    it.each(INCLUSION_MUTATIONS)('%s', (kind) => {
      const selected = probes.filter((probe) => probe.kind === kind);
      expect(selected.length).toBeGreaterThan(0);
      for (const { claim, desc, allowed, mustFail } of selected) {
        const { index, size, leafHash, proof, root } = claim;
        const label = `${kind} (${desc}) of a proof in a tree of ${size}`;
        const got = outcome(() => verifyInclusion(index, size, leafHash, proof, root));
        const rfcAccepts = rfcVerifyInclusion(index, size, leafHash, proof, root);
        if (mustFail) expect(rfcAccepts, `${label}: the RFC procedure accepts it`).toBe(false);
        if (rfcAccepts) expect(got, label).toBe('OK');
        else expect(allowed, label).toContain(got);
      }
    });
  });

  it('accepts another tree size exactly when the path keeps its shape, as only the root binds the size', () => {
    let accepted = 0;
    for (const { index, size, leafHash, proof, root } of validInclusionClaims(MUTATION_MAX_SIZE)) {
      const shape = referencePathShape(index, size).join();
      for (const other of [size - 1, size + 1, size * 2]) {
        const sameShape = index < other && referencePathShape(index, other).join() === shape;
        const got = outcome(() => verifyInclusion(index, other, leafHash, proof, root));
        expect(got === 'OK', `leaf ${index} of ${size} claimed in ${other}`).toBe(sameShape);
        if (sameShape) accepted += 1;
      }
    }
    expect(accepted).toBeGreaterThan(0);
  });

  describe('refuses hostile inputs with its own error', () => {
    const size = 5;
    const index = 2;
    const leafHash = at(LEAF_HASHES, index);
    const proof = REFERENCE.path(index, size);
    const root = at(REFERENCE_ROOTS, size);
    const verify = (change: Partial<Record<keyof InclusionClaim, unknown>>): string => {
      const c = { index, size, leafHash, proof, root, ...change } as InclusionClaim;
      return outcome(() => verifyInclusion(c.index, c.size, c.leafHash, c.proof, c.root));
    };

    it('accepts the unchanged claim', () => {
      expect(verify({})).toBe('OK');
    });

    it('rejects a proof whose index is past the tree size', () => {
      expect(verify({ index: size })).toBe('INDEX_OUT_OF_RANGE');
      expect(verify({ index: size + 1 })).toBe('INDEX_OUT_OF_RANGE');
    });

    it('rejects any index in a tree of size 0', () => {
      expect(verify({ index: 0, size: 0, proof: [] })).toBe('INDEX_OUT_OF_RANGE');
    });

    it.each(BAD_NUMBERS)('rejects an index that is %s', (_, bad) => {
      expect(verify({ index: bad })).toBe('INDEX_OUT_OF_RANGE');
    });

    it.each(BAD_NUMBERS)('rejects a tree size that is %s', (_, bad) => {
      expect(verify({ size: bad })).toBe('BAD_TREE_SIZE');
    });

    it.each(BAD_HASHES)('rejects a leaf hash that is %s', (_, bad) => {
      expect(verify({ leafHash: bad })).toBe('BAD_HASH_SIZE');
    });

    it.each(BAD_HASHES)('rejects a root that is %s', (_, bad) => {
      expect(verify({ root: bad })).toBe('BAD_HASH_SIZE');
    });

    it.each(BAD_HASHES)('rejects a proof element that is %s', (_, bad) => {
      expect(verify({ proof: proof.map((h, i) => (i === 1 ? bad : h)) })).toBe('BAD_HASH_SIZE');
    });

    it('rejects a sparse proof', () => {
      expect(verify({ proof: new Array<Uint8Array>(proof.length) })).toBe('BAD_HASH_SIZE');
    });

    it.each([
      ['null', null],
      ['a string', 'abc'],
      ['an array-like object', { ...proof, length: proof.length }],
    ])('rejects a proof that is %s', (_, bad) => {
      expect(verify({ proof: bad })).toBe('WRONG_PROOF_SIZE');
    });

    it('rejects a proof far longer than any tree needs', () => {
      expect(verify({ proof: new Array<Uint8Array>(2 ** 20) })).toBe('WRONG_PROOF_SIZE');
    });
  });

  it('agrees with the RFC 9162 §2.1.3.2 procedure on trees of up to 2^53 - 1 leaves', () => {
    const max = Number.MAX_SAFE_INTEGER;
    const cases: [number, number][] = [
      [0, max],
      [max - 1, max],
      [max - 2, max - 1],
      [2 ** 52, max],
      [2 ** 52 - 1, 2 ** 52],
      [2 ** 32 - 1, 2 ** 32 + 1],
      [2 ** 31, 2 ** 33],
      [2 ** 31 - 1, 2 ** 31],
      [12_345_678_901_234, 2 ** 48 + 3],
      // index and size - 1 agree in their low 32 bits, which 32-bit arithmetic would only see
      [5, 2 ** 40 + 6],
      [2 ** 33 + 7, 2 ** 50 + 8],
    ];
    const leafHash = sha256('leaf');
    for (const [index, size] of cases) {
      const label = `leaf ${index} of ${size}`;
      const length = referencePathShape(index, size).length;
      const rfcRoot = rfcInclusionRoot(index, size, leafHash, fakeProof(length));
      if (rfcRoot === undefined) throw new Error(`${label}: the RFC procedure refuses the length`);
      expect(hex(rootFromInclusionProof(index, size, leafHash, fakeProof(length))), label).toBe(
        hex(rfcRoot),
      );
      verifyInclusion(index, size, leafHash, fakeProof(length), rfcRoot);
      for (const wrong of [length - 1, length + 1]) {
        expect(
          outcome(() => verifyInclusion(index, size, leafHash, fakeProof(wrong), rfcRoot)),
        ).toBe('WRONG_PROOF_SIZE');
      }
    }
  });
});

describe('verifyConsistency', () => {
  it(`accepts every proof between trees of 1 to ${CROSS_CHECK_MAX_SIZE} leaves, as the RFC procedure does`, () => {
    for (let n = 1; n <= CROSS_CHECK_MAX_SIZE; n += 1) {
      const tree = buildTree(LEAF_HASHES.slice(0, n));
      const root2 = at(REFERENCE_ROOTS, n);
      for (let m = 1; m <= n; m += 1) {
        const label = `${m} to ${n}`;
        const proof = tree.consistencyProof(m);
        const root1 = at(REFERENCE_ROOTS, m);
        expect(
          outcome(() => verifyConsistency(m, n, proof, root1, root2)),
          label,
        ).toBe('OK');
        expect(hex(rootFromConsistencyProof(m, n, proof, root1)), label).toBe(hex(root2));
        expect(rfcVerifyConsistency(m, n, proof, root1, root2), label).toBe(true);
      }
    }
  });

  describe('rejects mutated proofs (transparency-dev style) as the RFC 9162 procedure does', () => {
    const probes = validConsistencyClaims(MUTATION_MAX_SIZE).flatMap(consistencyMutations);

    it.each(CONSISTENCY_MUTATIONS)('%s', (kind) => {
      const selected = probes.filter((probe) => probe.kind === kind);
      expect(selected.length).toBeGreaterThan(0);
      for (const { claim, desc, allowed, mustFail } of selected) {
        const { size1, size2, proof, root1, root2 } = claim;
        const label = `${kind} (${desc}) of the proof from ${size1} to ${size2}`;
        const got = outcome(() => verifyConsistency(size1, size2, proof, root1, root2));
        const rfcAccepts = rfcVerifyConsistency(size1, size2, proof, root1, root2);
        if (mustFail) expect(rfcAccepts, `${label}: the RFC procedure accepts it`).toBe(false);
        if (rfcAccepts) expect(got, label).toBe('OK');
        else expect(allowed, label).toContain(got);
      }
    });
  });

  describe('refuses hostile inputs with its own error', () => {
    const size1 = 3;
    const size2 = 7;
    const proof = REFERENCE.proof(size1, size2);
    const root1 = at(REFERENCE_ROOTS, size1);
    const root2 = at(REFERENCE_ROOTS, size2);
    const verify = (change: Partial<Record<keyof ConsistencyClaim, unknown>>): string => {
      const c = { size1, size2, proof, root1, root2, ...change } as ConsistencyClaim;
      return outcome(() => verifyConsistency(c.size1, c.size2, c.proof, c.root1, c.root2));
    };

    it('accepts the unchanged claim', () => {
      expect(verify({})).toBe('OK');
    });

    it.each(BAD_NUMBERS)('rejects a size1 that is %s', (_, bad) => {
      expect(verify({ size1: bad })).toBe('BAD_TREE_SIZE');
    });

    it.each(BAD_NUMBERS)('rejects a size2 that is %s', (_, bad) => {
      expect(verify({ size2: bad })).toBe('BAD_TREE_SIZE');
    });

    it('rejects a size2 smaller than size1', () => {
      expect(verify({ size1: size2, size2: size1 })).toBe('BAD_TREE_SIZE');
    });

    it('rejects a proof from the empty tree', () => {
      expect(verify({ size1: 0, root1: EMPTY_ROOT })).toBe('BAD_TREE_SIZE');
      expect(verify({ size1: 0, root1: EMPTY_ROOT, proof: [] })).toBe('BAD_TREE_SIZE');
    });

    it('accepts equal sizes with an empty proof and equal roots, and nothing else', () => {
      expect(verify({ size1: 0, size2: 0, proof: [], root1: EMPTY_ROOT, root2: EMPTY_ROOT })).toBe(
        'OK',
      );
      expect(verify({ size1: size2, proof: [], root1: root2 })).toBe('OK');
      expect(verify({ size1: size2, proof: [], root1 })).toBe('ROOT_MISMATCH');
      expect(verify({ size1: size2, root1: root2 })).toBe('WRONG_PROOF_SIZE');
    });

    it.each(BAD_HASHES)('rejects a root1 that is %s', (_, bad) => {
      expect(verify({ root1: bad })).toBe('BAD_HASH_SIZE');
    });

    it.each(BAD_HASHES)('rejects a root2 that is %s', (_, bad) => {
      expect(verify({ root2: bad })).toBe('BAD_HASH_SIZE');
    });

    it.each(BAD_HASHES)('rejects a proof element that is %s', (_, bad) => {
      for (let i = 0; i < proof.length; i += 1) {
        expect(verify({ proof: proof.map((h, j) => (j === i ? bad : h)) }), `proof[${i}]`).toBe(
          'BAD_HASH_SIZE',
        );
      }
    });

    it.each([
      ['null', null],
      ['a string', 'abc'],
      ['an array-like object', { ...proof, length: proof.length }],
    ])('rejects a proof that is %s', (_, bad) => {
      expect(verify({ proof: bad })).toBe('WRONG_PROOF_SIZE');
      expect(verify({ proof: bad, size1: size2, root1: root2 })).toBe('WRONG_PROOF_SIZE');
    });

    it('rejects a sparse proof', () => {
      expect(verify({ proof: new Array<Uint8Array>(proof.length) })).toBe('BAD_HASH_SIZE');
    });
  });

  it('agrees with the RFC 9162 §2.1.4.2 procedure on trees of up to 2^53 - 1 leaves', () => {
    const max = Number.MAX_SAFE_INTEGER;
    const cases: [number, number][] = [
      [1, max],
      [3, max],
      [max - 1, max],
      [2 ** 52, max],
      [2 ** 52 + 1, max],
      [2 ** 32, 2 ** 32 + 1],
      [2 ** 31 + 3, 2 ** 40],
      [2 ** 31 - 1, 2 ** 31 + 1],
    ];
    const seed = sha256('old root');
    for (const [size1, size2] of cases) {
      const label = `${size1} to ${size2}`;
      // The RFC procedure fails on the path's structure for all lengths but one.
      const lengths = Array.from({ length: 120 }, (_, i) => i + 1).filter(
        (length) => rfcConsistencyRoots(size1, size2, seed, fakeProof(length)) !== undefined,
      );
      expect(lengths, label).toHaveLength(1);
      const length = at(lengths, 0);
      const roots = rfcConsistencyRoots(size1, size2, seed, fakeProof(length));
      if (roots === undefined) throw new Error(label);
      const { fr, sr } = roots;
      expect(hex(rootFromConsistencyProof(size1, size2, fakeProof(length), fr)), label).toBe(
        hex(sr),
      );
      verifyConsistency(size1, size2, fakeProof(length), fr, sr);
      for (const wrong of [length - 1, length + 1]) {
        expect(outcome(() => verifyConsistency(size1, size2, fakeProof(wrong), fr, sr))).toBe(
          'WRONG_PROOF_SIZE',
        );
      }
    }
  });
});

describe('Merkle vector files', () => {
  const generated = generateMerkleVectors();
  const read = <T>(name: string): T =>
    JSON.parse(readFileSync(path.join(VECTOR_DIR, name), 'utf8')) as T;

  it('hold exactly what the generator makes (UPDATE_VECTORS=1 rewrites them)', async () => {
    for (const [name, content] of Object.entries(generated)) {
      const file = path.join(VECTOR_DIR, name);
      if (process.env.UPDATE_VECTORS === '1') {
        const prettier = await import('prettier');
        const options = (await prettier.resolveConfig(file)) ?? {};
        const text = await prettier.format(JSON.stringify(content), { ...options, filepath: file });
        mkdirSync(VECTOR_DIR, { recursive: true });
        writeFileSync(file, text);
      }
      expect(read(name), name).toEqual(content);
    }
  });

  it('roots.json: rootOf reproduces every root', () => {
    const file = read<RootsFile>('roots.json');
    const leafHashes = file.entries.map((entry) => hashLeaf(unhex(entry)));
    expect(leafHashes.map(hex)).toEqual(file.leafHashes);
    for (const { size, root } of file.roots) {
      expect(hex(rootOf(leafHashes.slice(0, size))), `size ${size}`).toBe(root);
    }
  });

  it('inclusion.json: buildTree reproduces every proof and verifyInclusion accepts it', () => {
    const leafHashes = read<RootsFile>('roots.json').leafHashes.map(unhex);
    for (const { index, size, leafHash, root, proof } of read<InclusionFile>('inclusion.json')
      .cases) {
      const label = `leaf ${index} of ${size}`;
      expect(buildTree(leafHashes.slice(0, size)).inclusionProof(index).map(hex), label).toEqual(
        proof,
      );
      verifyInclusion(index, size, unhex(leafHash), proof.map(unhex), unhex(root));
    }
  });

  it('consistency.json: buildTree reproduces every proof and verifyConsistency accepts it', () => {
    const leafHashes = read<RootsFile>('roots.json').leafHashes.map(unhex);
    for (const { size1, size2, root1, root2, proof } of read<ConsistencyFile>('consistency.json')
      .cases) {
      const label = `${size1} to ${size2}`;
      expect(buildTree(leafHashes.slice(0, size2)).consistencyProof(size1).map(hex), label).toEqual(
        proof,
      );
      verifyConsistency(size1, size2, proof.map(unhex), unhex(root1), unhex(root2));
    }
  });

  describe('rfc6962-known-answers.json (transparency-dev/merkle, copied by hand)', () => {
    interface KnownAnswers {
      entries: string[];
      roots: string[];
      inclusion: { index: number; size: number; proof: string[] }[];
      consistency: { size1: number; size2: number; proof: string[] }[];
    }
    const known = read<KnownAnswers>('rfc6962-known-answers.json');
    const leafHashes = known.entries.map((entry) => hashLeaf(unhex(entry)));
    const rootOfSize = (size: number): Buffer => unhex(at(known.roots, size - 1));

    it('gives every root', () => {
      known.roots.forEach((root, i) => {
        expect(hex(rootOf(leafHashes.slice(0, i + 1))), `size ${i + 1}`).toBe(root);
        expect(hex(referenceLog(known.entries.map(unhex)).root(i + 1))).toBe(root);
      });
    });

    it('gives and accepts every inclusion proof', () => {
      for (const { index, size, proof } of known.inclusion) {
        const label = `leaf ${index} of ${size}`;
        const tree = buildTree(leafHashes.slice(0, size));
        expect(tree.inclusionProof(index).map(hex), label).toEqual(proof);
        verifyInclusion(index, size, at(leafHashes, index), proof.map(unhex), rootOfSize(size));
      }
    });

    it('gives and accepts every consistency proof', () => {
      for (const { size1, size2, proof } of known.consistency) {
        const label = `${size1} to ${size2}`;
        const tree = buildTree(leafHashes.slice(0, size2));
        expect(tree.consistencyProof(size1).map(hex), label).toEqual(proof);
        verifyConsistency(size1, size2, proof.map(unhex), rootOfSize(size1), rootOfSize(size2));
      }
    });
  });
});

describe('HASH_SIZE', () => {
  it('is the SHA-256 digest length', () => {
    expect(HASH_SIZE).toBe(32);
  });
});
