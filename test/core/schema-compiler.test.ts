/**
 * Schemas with an `$id` that are also part of other schemas (the evidence record inside the
 * receipt) validate whichever of them a process compiles first. Each case loads core afresh, so
 * the order is the one the case chooses, as in a node that has just started.
 */

import { beforeEach, describe, expect, it, vi } from 'vitest';

type Evidence = typeof import('../../core/evidence');
type Receipt = typeof import('../../core/receipt');
type Schema = typeof import('../../core/schema');

async function freshCore(): Promise<{ evidence: Evidence; receipt: Receipt; schema: Schema }> {
  return {
    evidence: await import('../../core/evidence'),
    receipt: await import('../../core/receipt'),
    schema: await import('../../core/schema'),
  };
}

const DIGEST = `sha256:${'ab'.repeat(32)}`;
const RECORD = { digests: [DIGEST], depositor: { org: 'PlatformOrg', account: 'a' } };

describe('compileSchema with schemas inside schemas', () => {
  beforeEach(() => {
    vi.resetModules();
  });

  it('validates the record after the receipt that holds it was compiled first', async () => {
    const { evidence, receipt, schema } = await freshCore();
    expect(schema.schemaErrors(receipt.receiptSchema, {}).length).toBeGreaterThan(0);
    expect(evidence.evidenceRecordErrors(RECORD)).toEqual([]);
    expect(evidence.evidenceRecordErrors({ ...RECORD, digests: ['sha256:00'] })).toEqual([
      expect.objectContaining({ path: '/digests/0', rule: 'pattern' }),
    ]);
  });

  it('validates the receipt after the record it holds was compiled first', async () => {
    const { evidence, receipt, schema } = await freshCore();
    expect(evidence.evidenceRecordErrors(RECORD)).toEqual([]);
    const errors = schema.schemaErrors(receipt.receiptSchema, { record: { digests: [] } });
    expect(errors).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: '/record/digests', rule: 'minItems' }),
        expect.objectContaining({ path: '/inclusion', rule: 'required' }),
      ]),
    );
  });

  it('still refuses two different schemas under one id', async () => {
    const { schema } = await freshCore();
    const first = { $id: 'test-twice', type: 'string' };
    const second = { $id: 'test-twice', type: 'number' };
    expect(schema.schemaErrors(first, 'x')).toEqual([]);
    expect(() => schema.schemaErrors(second, 1)).toThrow(/already exists/);
  });
});
