import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalBytes, canonicalJson } from '../../core/canonical';
import { digestBytes, type Digest } from '../../core/digest';
import { ValidationError, type FieldError } from '../../core/errors';
import {
  assertEvidenceRecord,
  evidenceItemErrors,
  evidenceRecordErrors,
  normalizeRecord,
  primaryDigest,
  recordLeafHash,
  type EvidenceItem,
  type EvidenceRecord,
} from '../../core/evidence';

const file = digestBytes(Buffer.from('contract.pdf, version 3'));
const SHA = file.sha256;
const SM3 = file.sm3 as Digest;
const OTHER_SHA = digestBytes(Buffer.from('another file')).sha256;
const COMMITMENT = digestBytes(Buffer.from('salt || identity')).sha256;

const minimalItem: EvidenceItem = { digests: [SHA] };

const fullItem: EvidenceItem = {
  digests: [SHA, SM3],
  evidenceType: 'contract',
  mediaType: 'application/pdf',
  size: 1234,
  identityCommitment: COMMITMENT,
  metadataCommitment: COMMITMENT,
  process: { token: 'tx-2026.11:abc', phase: 'during' },
};

const fullRecord: EvidenceRecord = {
  ...fullItem,
  depositor: { org: 'PlatformOrg', account: 'lawyer-1' },
};

/** Errors sorted by pointer then rule, messages dropped: what the assertions compare. */
function shape(errors: readonly FieldError[]): Array<{ path: string; rule: string }> {
  return errors
    .map(({ path, rule }) => ({ path, rule }))
    .sort((a, b) => (a.path === b.path ? a.rule.localeCompare(b.rule) : a.path < b.path ? -1 : 1));
}

describe('evidenceItemErrors', () => {
  it('accepts a minimal item and a full item', () => {
    expect(evidenceItemErrors(minimalItem)).toEqual([]);
    expect(evidenceItemErrors(fullItem)).toEqual([]);
    expect(evidenceItemErrors({ digests: [SM3, SHA] })).toEqual([]);
  });

  it.each([null, [], 'x', 42, true])('refuses a non-object (%j) at the document root', (value) => {
    expect(shape(evidenceItemErrors(value))).toEqual([{ path: '', rule: 'type' }]);
  });

  it('names a missing digests list', () => {
    expect(shape(evidenceItemErrors({ size: 1 }))).toEqual([
      { path: '/digests', rule: 'required' },
    ]);
  });

  it('lists two bad fields as two entries', () => {
    expect(
      shape(evidenceItemErrors({ ...minimalItem, mediaType: 'Text/Plain', size: -1 })),
    ).toEqual([
      { path: '/mediaType', rule: 'pattern' },
      { path: '/size', rule: 'minimum' },
    ]);
  });

  it('lists every bad field, nested ones included', () => {
    const item = {
      digests: [SHA, 'sm3:XYZ'],
      evidenceType: 'selfie',
      mediaType: 'text',
      size: 1.5,
      identityCommitment: SM3,
      metadataCommitment: 'nope',
      process: { token: 'has space', phase: 'later', extra: 1 },
      extra: true,
    };
    expect(shape(evidenceItemErrors(item))).toEqual([
      { path: '/digests/1', rule: 'pattern' },
      { path: '/evidenceType', rule: 'enum' },
      { path: '/extra', rule: 'additionalProperties' },
      { path: '/identityCommitment', rule: 'pattern' },
      { path: '/mediaType', rule: 'pattern' },
      { path: '/metadataCommitment', rule: 'pattern' },
      { path: '/process/extra', rule: 'additionalProperties' },
      { path: '/process/phase', rule: 'enum' },
      { path: '/process/token', rule: 'pattern' },
      { path: '/size', rule: 'type' },
    ]);
  });

  it('prefixes every pointer with the path it is given', () => {
    expect(shape(evidenceItemErrors({ digests: [SHA], size: -1, x: 1 }, '/items/3'))).toEqual([
      { path: '/items/3/size', rule: 'minimum' },
      { path: '/items/3/x', rule: 'additionalProperties' },
    ]);
    expect(shape(evidenceItemErrors({ digests: [SM3] }, '/items/3'))).toEqual([
      { path: '/items/3/digests', rule: 'digestPrimary' },
    ]);
  });

  it('requires a sha256 digest (rule digestPrimary)', () => {
    expect(shape(evidenceItemErrors({ digests: [SM3] }))).toEqual([
      { path: '/digests', rule: 'digestPrimary' },
    ]);
  });

  it('refuses two digests of one algorithm (rule digestAlgorithmUnique)', () => {
    expect(shape(evidenceItemErrors({ digests: [SHA, OTHER_SHA] }))).toEqual([
      { path: '/digests/1', rule: 'digestAlgorithmUnique' },
    ]);
    expect(shape(evidenceItemErrors({ digests: [SM3, SM3.replace(/.$/, '0')] }))).toEqual([
      { path: '/digests', rule: 'digestPrimary' },
      { path: '/digests/1', rule: 'digestAlgorithmUnique' },
    ]);
  });

  it('refuses the same digest twice, too many digests and no digest', () => {
    expect(shape(evidenceItemErrors({ digests: [SHA, SHA] }))).toEqual([
      { path: '/digests/1', rule: 'digestAlgorithmUnique' },
    ]);
    expect(shape(evidenceItemErrors({ digests: [SHA, SM3, OTHER_SHA] }))).toEqual([
      { path: '/digests', rule: 'maxItems' },
    ]);
    expect(shape(evidenceItemErrors({ digests: [] }))).toEqual([
      { path: '/digests', rule: 'minItems' },
    ]);
  });

  it('refuses malformed digests with a pointer to each', () => {
    expect(shape(evidenceItemErrors({ digests: [SHA.toUpperCase(), 42] }))).toEqual([
      { path: '/digests/0', rule: 'pattern' },
      { path: '/digests/1', rule: 'type' },
    ]);
  });

  it('refuses an additional property, and a depositor on a submitted item', () => {
    expect(shape(evidenceItemErrors({ ...minimalItem, fileName: 'secret.pdf' }))).toEqual([
      { path: '/fileName', rule: 'additionalProperties' },
    ]);
    expect(shape(evidenceItemErrors({ ...minimalItem, depositor: fullRecord.depositor }))).toEqual([
      { path: '/depositor', rule: 'additionalProperties' },
    ]);
  });

  it.each([
    'text',
    'Text/Plain',
    'text/plain; charset=utf-8',
    '/plain',
    'text/',
    'text/plain/x',
    ` text/plain`,
    `${'a'.repeat(64)}/b`,
    '',
  ])('refuses the media type %j', (mediaType) => {
    expect(shape(evidenceItemErrors({ ...minimalItem, mediaType }))).toEqual([
      { path: '/mediaType', rule: 'pattern' },
    ]);
  });

  it.each([
    'application/pdf',
    'image/svg+xml',
    'video/mp4',
    'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  ])('accepts the media type %j', (mediaType) => {
    expect(evidenceItemErrors({ ...minimalItem, mediaType })).toEqual([]);
  });

  it.each([
    [-1, 'minimum'],
    [1.5, 'type'],
    ['10', 'type'],
    [2 ** 53, 'maximum'],
  ] as const)('refuses the size %j (rule %s)', (size, rule) => {
    expect(shape(evidenceItemErrors({ ...minimalItem, size }))).toEqual([{ path: '/size', rule }]);
  });

  it('accepts sizes 0 and Number.MAX_SAFE_INTEGER', () => {
    expect(evidenceItemErrors({ ...minimalItem, size: 0 })).toEqual([]);
    expect(evidenceItemErrors({ ...minimalItem, size: Number.MAX_SAFE_INTEGER })).toEqual([]);
  });

  it('reports a missing sha256 digest alongside an unrelated bad field', () => {
    expect(shape(evidenceItemErrors({ digests: [SM3], size: -1 }))).toEqual([
      { path: '/digests', rule: 'digestPrimary' },
      { path: '/size', rule: 'minimum' },
    ]);
  });

  it('escapes property names in pointers as RFC 6901 requires', () => {
    expect(shape(evidenceItemErrors({ ...minimalItem, 'a/b': 1, 'c~d': 2 }))).toEqual([
      { path: '/a~1b', rule: 'additionalProperties' },
      { path: '/c~0d', rule: 'additionalProperties' },
    ]);
  });
});

describe('evidenceRecordErrors', () => {
  it('accepts a record with a depositor', () => {
    expect(evidenceRecordErrors(fullRecord)).toEqual([]);
    expect(evidenceRecordErrors({ digests: [SHA], depositor: fullRecord.depositor })).toEqual([]);
  });

  it('requires a depositor, and refuses an item without one', () => {
    expect(shape(evidenceRecordErrors(fullItem))).toEqual([
      { path: '/depositor', rule: 'required' },
    ]);
    expect(shape(evidenceRecordErrors({ depositor: fullRecord.depositor }))).toEqual([
      { path: '/digests', rule: 'required' },
    ]);
  });

  it('lists both bad depositor fields, and other bad fields beside them', () => {
    const record = { ...fullRecord, size: -5, depositor: { org: 'Zhang San', account: '' } };
    expect(shape(evidenceRecordErrors(record, '/records/2'))).toEqual([
      { path: '/records/2/depositor/account', rule: 'pattern' },
      { path: '/records/2/depositor/org', rule: 'pattern' },
      { path: '/records/2/size', rule: 'minimum' },
    ]);
  });

  it('refuses extra and missing depositor properties', () => {
    const record = { ...fullRecord, depositor: { org: 'PlatformOrg', name: 'Zhang San' } };
    expect(shape(evidenceRecordErrors(record))).toEqual([
      { path: '/depositor/account', rule: 'required' },
      { path: '/depositor/name', rule: 'additionalProperties' },
    ]);
  });

  it('applies the digest rules to records', () => {
    expect(shape(evidenceRecordErrors({ ...fullRecord, digests: [SM3] }))).toEqual([
      { path: '/digests', rule: 'digestPrimary' },
    ]);
    expect(shape(evidenceRecordErrors({ ...fullRecord, digests: [OTHER_SHA, SHA] }))).toEqual([
      { path: '/digests/1', rule: 'digestAlgorithmUnique' },
    ]);
  });

  /** One bad value per field, each breaking exactly one schema rule. */
  const injections: ReadonlyArray<{
    path: string;
    rule: string;
    apply: (record: Record<string, unknown>) => void;
  }> = [
    { path: '/digests/1', rule: 'pattern', apply: (r) => (r.digests = [SHA, 'sm3:XYZ']) },
    { path: '/evidenceType', rule: 'enum', apply: (r) => (r.evidenceType = 'selfie') },
    { path: '/mediaType', rule: 'pattern', apply: (r) => (r.mediaType = 'Text/Plain') },
    { path: '/size', rule: 'minimum', apply: (r) => (r.size = -1) },
    { path: '/identityCommitment', rule: 'pattern', apply: (r) => (r.identityCommitment = SM3) },
    { path: '/metadataCommitment', rule: 'pattern', apply: (r) => (r.metadataCommitment = 'x') },
    {
      path: '/process/phase',
      rule: 'enum',
      apply: (r) => (r.process = { token: 't', phase: 'later' }),
    },
    {
      path: '/depositor/org',
      rule: 'pattern',
      apply: (r) => (r.depositor = { ...(r.depositor as object), org: 'Zhang San' }),
    },
    { path: '/extra', rule: 'additionalProperties', apply: (r) => (r.extra = 1) },
  ];

  it('names exactly the fields that were broken, whichever combination', () => {
    fc.assert(
      fc.property(fc.subarray([...injections], { minLength: 1 }), (chosen) => {
        const record = structuredClone(fullRecord) as unknown as Record<string, unknown>;
        for (const injection of chosen) injection.apply(record);
        const expected = shape(chosen.map(({ path, rule }) => ({ path, rule, message: '' })));
        expect(shape(evidenceRecordErrors(record))).toEqual(expected);
      }),
      { numRuns: 200 },
    );
  });
});

describe('assertEvidenceRecord', () => {
  it('returns a valid record', () => {
    expect(assertEvidenceRecord(fullRecord)).toBe(fullRecord);
  });

  it('throws VALIDATION_FAILED naming every bad field', () => {
    let thrown: unknown;
    try {
      assertEvidenceRecord({ ...fullRecord, size: -1, mediaType: 'x' }, '/record');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ValidationError);
    expect((thrown as ValidationError).code).toBe('VALIDATION_FAILED');
    expect(shape((thrown as ValidationError).fields ?? [])).toEqual([
      { path: '/record/mediaType', rule: 'pattern' },
      { path: '/record/size', rule: 'minimum' },
    ]);
  });
});

describe('normalizeRecord', () => {
  const reversed: EvidenceRecord = { ...fullRecord, digests: [SM3, SHA] };

  it('puts the sha256 digest first', () => {
    expect(normalizeRecord(reversed).digests).toEqual([SHA, SM3]);
    expect(normalizeRecord(fullRecord).digests).toEqual([SHA, SM3]);
  });

  it('keeps every other field and does not modify its argument', () => {
    const before = structuredClone(reversed);
    const normal = normalizeRecord(reversed);
    expect(reversed).toEqual(before);
    expect({ ...normal, digests: [] }).toEqual({ ...reversed, digests: [] });
  });

  it('is idempotent', () => {
    const once = normalizeRecord(reversed);
    expect(normalizeRecord(once)).toEqual(once);
  });

  it('makes two listings of the same digests give the same bytes and the same leaf', () => {
    expect(canonicalJson(normalizeRecord(reversed))).toBe(
      canonicalJson(normalizeRecord(fullRecord)),
    );
    expect(recordLeafHash(normalizeRecord(reversed))).toEqual(
      recordLeafHash(normalizeRecord(fullRecord)),
    );
    expect(recordLeafHash(reversed)).not.toEqual(recordLeafHash(fullRecord));
  });

  it('pins the canonical bytes of a normal record', () => {
    const record: EvidenceRecord = {
      digests: [SM3, SHA],
      depositor: { org: 'PlatformOrg', account: 'lawyer-1' },
      size: 7,
      evidenceType: 'image',
    };
    expect(canonicalJson(normalizeRecord(record))).toBe(
      `{"depositor":{"account":"lawyer-1","org":"PlatformOrg"},"digests":["${SHA}","${SM3}"],` +
        `"evidenceType":"image","size":7}`,
    );
  });
});

describe('primaryDigest and recordLeafHash', () => {
  it('finds the sha256 digest wherever it is listed', () => {
    expect(primaryDigest(fullRecord)).toBe(SHA);
    expect(primaryDigest({ digests: [SM3, SHA] })).toBe(SHA);
  });

  it('throws VALIDATION_FAILED when there is no sha256 digest', () => {
    expect(() => primaryDigest({ digests: [SM3] })).toThrow(ValidationError);
    try {
      primaryDigest({ digests: [SM3] });
    } catch (error) {
      expect((error as ValidationError).code).toBe('VALIDATION_FAILED');
    }
  });

  it('is the RFC 9162 leaf hash SHA-256(0x00 || canonical bytes)', () => {
    const expected = createHash('sha256')
      .update(Buffer.from([0]))
      .update(canonicalBytes(fullRecord))
      .digest();
    expect(recordLeafHash(fullRecord)).toEqual(expected);
  });
});
