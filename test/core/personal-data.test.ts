import { describe, expect, it } from 'vitest';
import { evidenceItemErrors } from '../../core/evidence';
import { annotationInputSchema } from '../../core/evidence-state';
import { findPersonalData } from '../../core/personal-data';
import { schemaErrors } from '../../core/schema';

const SHA = `sha256:${'a'.repeat(64)}`;

describe('findPersonalData', () => {
  it('finds ID numbers, phone numbers and e-mail addresses inside identifiers', () => {
    const found: Array<[string, string]> = [
      ['11010519491231002X', 'id-number'],
      ['case-11010519491231002x-a', 'id-number'],
      ['110105491231002', 'id-number'],
      ['13812345678', 'phone'],
      ['x13812345678', 'phone'],
      ['+86 138 1234 5678', 'phone'],
      ['138-1234-5678', 'phone'],
      ['010-12345678', 'phone'],
      ['zhang.san@example.com', 'email'],
    ];
    for (const [text, kind] of found) expect(findPersonalData(text), text).toBe(kind);
  });

  it('leaves digests, case numbers, dockets and ordinary identifiers alone', () => {
    for (const text of [
      SHA,
      '(2026)京0105民初1234号',
      'CASE-2026-000123',
      '2023-0105-12345',
      'lawyer-1',
      'order:20261231-7',
      '1234567890',
      '138123456789',
    ]) {
      expect(findPersonalData(text), text).toBeUndefined();
    }
  });
});

describe('personal data in the wire schemas', () => {
  it('limits annotation references to case numbers and ASCII dockets', () => {
    const valid = ['(2026)京0491民初123号', '（2026）最高法民终12号', 'case-2026-001', 'A/B:C.1'];
    for (const reference of valid) {
      expect(schemaErrors(annotationInputSchema, { kind: 'note', reference }), reference).toEqual(
        [],
      );
    }
    const refused: Array<[string, string]> = [
      ['张三', 'pattern'],
      ['欧阳娜娜', 'pattern'],
      ['北京市朝阳区建国路88号', 'pattern'],
      ['(2026)张三民初1号', 'pattern'],
      ['11010519491231002X', 'pattern'],
      ['x11010519491231002X', 'personalData'],
      ['ref-13812345678', 'personalData'],
      ['88 Jianguo Road', 'pattern'],
    ];
    for (const [reference, rule] of refused) {
      const errors = schemaErrors(annotationInputSchema, { kind: 'note', reference });
      expect(
        errors.map((e) => [e.path, e.rule]),
        reference,
      ).toContainEqual(['/reference', rule]);
    }
  });

  it('refuses personal data in the media type and process token of an evidence item', () => {
    const errors = evidenceItemErrors({
      digests: [SHA],
      mediaType: 'text/13812345678',
      process: { token: 'id-11010519491231002X', phase: 'before' },
    });
    expect(errors.map((e) => [e.path, e.rule])).toEqual([
      ['/mediaType', 'personalData'],
      ['/process/token', 'personalData'],
    ]);
    expect(errors[0]?.message).toMatch(/personal data/);
  });
});

describe('cost of the personal-data search', () => {
  it('stays linear on long adversarial text (no catastrophic backtracking)', () => {
    const long = 1_000_000;
    const inputs = [
      'a'.repeat(long),
      '1'.repeat(long),
      `a@${'a.'.repeat(long / 2)}!`,
      `${'a'.repeat(50)}@`.repeat(long / 51),
      '1 '.repeat(long / 2),
      '0-'.repeat(long / 2),
    ];
    const started = performance.now();
    for (const text of inputs) expect(findPersonalData(text)).toBeUndefined();
    for (const text of inputs) {
      const errors = schemaErrors(annotationInputSchema, { kind: 'note', reference: text });
      expect(errors.map((e) => e.rule)).toEqual(['pattern']);
    }
    expect(performance.now() - started).toBeLessThan(2_000);
  });
});
