/**
 * `newEvidenceStateText` and `batchArgsText`: the chaincode writes a new evidence state, and the
 * gateway the batch argument, from the records' canonical texts; the bytes must be exactly those
 * `canonicalJson` gives for the objects, for any record and placement, or every state written and
 * every argument digest would differ from what verifiers recompute.
 */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { batchArgsText, buildBatch } from '../../core/batch';
import { canonicalJson } from '../../core/canonical';
import { digestBytes, type Digest } from '../../core/digest';
import type { EvidenceRecord } from '../../core/evidence';
import { newEvidenceStateText, type EvidenceState } from '../../core/evidence-state';

/** Records the schema accepts, with every optional field sometimes present. */
const records: fc.Arbitrary<EvidenceRecord> = fc
  .record(
    {
      content: fc.uint8Array({ minLength: 1, maxLength: 64 }),
      sm3: fc.boolean(),
      evidenceType: fc.constantFrom('contract', 'chat', 'image', 'video', 'other'),
      mediaType: fc.constantFrom('application/pdf', 'image/jpeg', 'text/plain'),
      size: fc.nat({ max: Number.MAX_SAFE_INTEGER }),
      account: fc.stringMatching(/^[A-Za-z][A-Za-z._-]{0,39}$/),
      commitment: fc.boolean(),
    },
    { requiredKeys: ['content', 'sm3', 'account'] },
  )
  .map((r) => {
    const d = digestBytes(Buffer.from(r.content));
    return {
      digests: (r.sm3 ? [d.sha256, d.sm3] : [d.sha256]) as EvidenceRecord['digests'],
      depositor: { org: 'PlatformOrg', account: r.account },
      ...(r.evidenceType ? { evidenceType: r.evidenceType } : {}),
      ...(r.mediaType ? { mediaType: r.mediaType } : {}),
      ...(r.size !== undefined ? { size: r.size } : {}),
      ...(r.commitment ? { identityCommitment: d.sha256 } : {}),
    } as EvidenceRecord;
  });

describe('newEvidenceStateText', () => {
  it('gives the canonical JSON of the new state, for any record and placement', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(records, {
          minLength: 1,
          maxLength: 8,
          selector: (r) => r.digests[0],
        }),
        fc.string({ maxLength: 70, unit: 'binary' }),
        fc.date({ noInvalidDate: true }),
        (batchRecords, txId, date) => {
          const batch = buildBatch(batchRecords);
          batch.records.forEach((record, leafIndex) => {
            const placement = {
              batchRoot: batch.root,
              batchSize: batch.records.length,
              leafIndex,
              time: date.toISOString(),
              txId,
            };
            const state: EvidenceState = {
              ...placement,
              type: 'evidence',
              record,
              attestations: [],
              annotations: [],
            };
            expect(newEvidenceStateText(placement, batch.recordTexts[leafIndex] as string)).toBe(
              canonicalJson(state),
            );
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('gives the batch argument as canonicalJson of { records, root }, for any batch', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(records, { minLength: 1, maxLength: 12, selector: (r) => r.digests[0] }),
        (batchRecords) => {
          const batch = buildBatch(batchRecords);
          expect(batchArgsText(batch)).toBe(
            canonicalJson({ records: batch.records, root: batch.root }),
          );
        },
      ),
      { numRuns: 200 },
    );
  });

  it('keeps batch texts equal to each record’s canonical JSON', () => {
    const sha = digestBytes(Buffer.from('x')).sha256 as Digest;
    const batch = buildBatch([{ digests: [sha], depositor: { org: 'O', account: 'a' } }]);
    expect(batch.recordTexts).toEqual(batch.records.map((record) => canonicalJson(record)));
  });
});
