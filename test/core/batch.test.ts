import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MAX_BATCH_RECORDS, buildBatch } from '../../core/batch';
import { canonicalBytes } from '../../core/canonical';
import { digestBytes, type Digest } from '../../core/digest';
import { ValidationError, type FieldError } from '../../core/errors';
import { normalizeRecord, recordLeafHash, type EvidenceRecord } from '../../core/evidence';
import { buildTree, rootFromInclusionProof } from '../../core/merkle';

const depositor = { org: 'PlatformOrg', account: 'lawyer-1' };

/** A valid record for file number `i`, digests listed sm3 first unless `normal`. */
function record(i: number, normal = false): EvidenceRecord {
  const digests = digestBytes(Buffer.from(`evidence file ${i}`));
  const sm3 = digests.sm3 as Digest;
  return { digests: normal ? [digests.sha256, sm3] : [sm3, digests.sha256], depositor, size: i };
}

function records(count: number, normal = false): EvidenceRecord[] {
  return Array.from({ length: count }, (_, i) => record(i, normal));
}

/** A cheap valid record (sha256 only), for the size limits. */
function tinyRecord(i: number): EvidenceRecord {
  const hex = createHash('sha256').update(String(i)).digest('hex');
  return { digests: [`sha256:${hex}`], depositor };
}

function thrownBy(fn: () => unknown): ValidationError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return error as ValidationError;
  }
  throw new Error('expected a ValidationError');
}

function shape(fields: readonly FieldError[] | undefined): Array<{ path: string; rule: string }> {
  return (fields ?? [])
    .map(({ path, rule }) => ({ path, rule }))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** RFC 9162 §2.1.1 MTH, written straight from the definition: the naive reference. */
function naiveRoot(leaves: readonly Buffer[]): Buffer {
  if (leaves.length === 0) return createHash('sha256').digest();
  if (leaves.length === 1) return leaves[0] as Buffer;
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return createHash('sha256')
    .update(Buffer.from([1]))
    .update(naiveRoot(leaves.slice(0, k)))
    .update(naiveRoot(leaves.slice(k)))
    .digest();
}

describe('buildBatch', () => {
  it('refuses an empty batch', () => {
    const error = thrownBy(() => buildBatch([]));
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(shape(error.fields)).toEqual([{ path: '/records', rule: 'minItems' }]);
  });

  it(`refuses more than MAX_BATCH_RECORDS (${MAX_BATCH_RECORDS}) records with BATCH_TOO_LARGE`, () => {
    const many = Array.from({ length: MAX_BATCH_RECORDS + 1 }, (_, i) => tinyRecord(i));
    const error = thrownBy(() => buildBatch(many));
    expect(error.code).toBe('BATCH_TOO_LARGE');
    expect(shape(error.fields)).toEqual([{ path: '/records', rule: 'maxItems' }]);
  });

  it('accepts exactly MAX_BATCH_RECORDS records', () => {
    const many = Array.from({ length: MAX_BATCH_RECORDS }, (_, i) => tinyRecord(i));
    const batch = buildBatch(many);
    expect(batch.records).toHaveLength(MAX_BATCH_RECORDS);
    expect(batch.tree.size).toBe(MAX_BATCH_RECORDS);
  });

  it('refuses a repeated primary digest with DUPLICATE_IN_BATCH and a pointer to the repeat', () => {
    const list = records(4);
    list.push({ ...(list[1] as EvidenceRecord), depositor: { org: 'OtherOrg', account: 'a' } });
    const error = thrownBy(() => buildBatch(list));
    expect(error.code).toBe('DUPLICATE_IN_BATCH');
    expect(shape(error.fields)).toEqual([{ path: '/records/4/digests', rule: 'uniqueDigest' }]);
  });

  it('names every repeat, and sees repeats whatever order the digests are listed in', () => {
    const first = record(0);
    const reordered = { ...first, digests: [...first.digests].reverse() };
    const onlySha = { digests: [first.digests[1] as Digest], depositor };
    const list = [first, record(1), reordered, record(2), onlySha, record(1)];
    const error = thrownBy(() => buildBatch(list));
    expect(error.code).toBe('DUPLICATE_IN_BATCH');
    expect(shape(error.fields)).toEqual([
      { path: '/records/2/digests', rule: 'uniqueDigest' },
      { path: '/records/4/digests', rule: 'uniqueDigest' },
      { path: '/records/5/digests', rule: 'uniqueDigest' },
    ]);
  });

  it('refuses invalid records with VALIDATION_FAILED, naming each under /records/i', () => {
    const list: unknown[] = records(3);
    list[0] = { ...record(0), size: -1 };
    list[2] = { ...record(2), depositor: { org: 'Zhang San', account: 'x' }, extra: 1 };
    const error = thrownBy(() => buildBatch(list as EvidenceRecord[]));
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(shape(error.fields)).toEqual([
      { path: '/records/0/size', rule: 'minimum' },
      { path: '/records/2/depositor/org', rule: 'pattern' },
      { path: '/records/2/extra', rule: 'additionalProperties' },
    ]);
  });

  it('normalises the records and leaves its argument alone', () => {
    const list = records(3);
    const before = structuredClone(list);
    const batch = buildBatch(list);
    expect(list).toEqual(before);
    expect(batch.records).toEqual(list.map(normalizeRecord));
    for (const r of batch.records) expect(r.digests[0]?.startsWith('sha256:')).toBe(true);
  });

  it.each([1, 2, 3, 4, 5, 7, 8, 9, 16, 17])(
    'with %i records, has the root buildTree gives over the leaf hashes, and the naive MTH',
    (count) => {
      const batch = buildBatch(records(count));
      const leaves = records(count, true).map(recordLeafHash);
      const root = buildTree(leaves).root;
      expect(batch.root).toBe(`sha256:${root.toString('hex')}`);
      expect(batch.tree.root).toEqual(root);
      expect(root).toEqual(naiveRoot(leaves));
    },
  );

  it('gives a single record the root hashLeaf(canonical bytes)', () => {
    const only = record(5, true);
    const expected = createHash('sha256')
      .update(Buffer.from([0]))
      .update(canonicalBytes(only))
      .digest('hex');
    expect(buildBatch([only]).root).toBe(`sha256:${expected}`);
  });

  it('gives every record an inclusion proof that leads to the root', () => {
    const batch = buildBatch(records(11));
    batch.records.forEach((r, index) => {
      const computed = rootFromInclusionProof(
        index,
        batch.records.length,
        recordLeafHash(r),
        batch.tree.inclusionProof(index),
      );
      expect(`sha256:${computed.toString('hex')}`).toBe(batch.root);
    });
  });

  it('depends on the order of the records', () => {
    const list = records(3);
    expect(buildBatch([...list].reverse()).root).not.toBe(buildBatch(list).root);
  });

  it('does not depend on the order the digests of a record are listed in', () => {
    expect(buildBatch(records(6)).root).toBe(buildBatch(records(6, true)).root);
  });
});
