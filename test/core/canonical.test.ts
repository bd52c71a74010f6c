import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalBytes, canonicalJson } from '../../core/canonical';
import { ValidationError } from '../../core/errors';
import pinned from '../vectors/canonical.json';

interface CanonicalVector {
  readonly name: string;
  readonly inputJson: string;
  readonly expected: string;
  readonly expectedHex: string;
}

const vectors: readonly CanonicalVector[] = pinned.vectors;

/** The thrown ValidationError, or a failure when the call returned. */
function refusal(value: unknown): ValidationError {
  try {
    const text = canonicalJson(value);
    throw new Error(`expected a refusal, got ${text}`);
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return error as ValidationError;
  }
}

describe('canonicalJson vectors (test/vectors/canonical.json)', () => {
  it('has vectors', () => {
    expect(vectors.length).toBeGreaterThanOrEqual(10);
  });

  it.each(vectors.map((v) => [v.name, v] as const))('%s', (_name, vector) => {
    const input: unknown = JSON.parse(vector.inputJson);
    expect(canonicalJson(input)).toBe(vector.expected);
    expect(Buffer.from(canonicalBytes(input)).toString('hex')).toBe(vector.expectedHex);
    // The pinned output is itself canonical: encoding it again changes nothing.
    expect(canonicalJson(JSON.parse(vector.expected))).toBe(vector.expected);
  });
});

describe('canonicalJson on values JSON text cannot express', () => {
  it('omits object properties whose value is undefined', () => {
    expect(canonicalJson({ b: 1, a: undefined, c: { d: undefined } })).toBe('{"b":1,"c":{}}');
  });

  it('accepts objects without a prototype', () => {
    const bare = Object.create(null) as Record<string, unknown>;
    bare.b = 2;
    bare.a = 1;
    expect(canonicalJson(bare)).toBe('{"a":1,"b":2}');
  });

  it('encodes the same object twice when it is shared, not cyclic', () => {
    const shared = { x: 1 };
    expect(canonicalJson({ a: shared, b: [shared, shared] })).toBe(
      '{"a":{"x":1},"b":[{"x":1},{"x":1}]}',
    );
  });

  it('encodes an own "__proto__" property as data', () => {
    expect(canonicalJson(JSON.parse('{"__proto__":{"a":1},"b":2}'))).toBe(
      '{"__proto__":{"a":1},"b":2}',
    );
  });

  it('gives the same bytes as canonicalJson, in UTF-8', () => {
    const value = { k: '\u8bc1\u636e', e: '\ud83d\ude00' };
    expect(Buffer.from(canonicalBytes(value)).toString('utf8')).toBe(canonicalJson(value));
  });
});

describe('canonicalJson refusals', () => {
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic.self = cyclic;
  const cyclicArray: unknown[] = [1];
  cyclicArray.push(cyclicArray);
  class Point {
    constructor(readonly x: number) {}
  }

  const cases: ReadonlyArray<readonly [string, unknown]> = [
    ['a float', 1.5],
    ['a tiny float', 5e-324],
    ['NaN', NaN],
    ['Infinity', Infinity],
    ['-Infinity', -Infinity],
    ['2**53, the first unsafe integer', 2 ** 53],
    ['-(2**53)', -(2 ** 53)],
    ['1e21', 1e21],
    ['a bigint', 10n],
    ['undefined at the top', undefined],
    ['undefined in an array', [1, undefined, 2]],
    ['a function', () => 1],
    ['a symbol', Symbol('s')],
    ['a Date', new Date(0)],
    ['a Map', new Map([['a', 1]])],
    ['a Set', new Set([1])],
    ['a class instance', new Point(1)],
    ['a boxed string', Object('x')],
    ['a Uint8Array', new Uint8Array([1])],
    ['a cyclic object', cyclic],
    ['a cyclic array', cyclicArray],
    ['a float deep inside', { a: [1, { b: 1.5 }] }],
  ];

  it.each(cases)('refuses %s with VALIDATION_FAILED', (_what, value) => {
    const error = refusal(value);
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.fields?.[0]?.rule).toBe('canonical');
    expect(() => canonicalBytes(value)).toThrow(ValidationError);
  });

  it('names the offending value with a JSON pointer', () => {
    expect(refusal({ a: [1, { b: 1.5 }] }).fields).toEqual([
      expect.objectContaining({ path: '/a/1/b', rule: 'canonical' }),
    ]);
    expect(refusal({ 'x/y': { '~': NaN } }).fields?.[0]?.path).toBe('/x~1y/~0');
    expect(refusal([0, [1, undefined]]).fields?.[0]?.path).toBe('/1/1');
    expect(refusal(cyclic).fields?.[0]?.path).toBe('/self');
  });

  it('refuses a sparse array, whose holes read as undefined', () => {
    // eslint-disable-next-line no-sparse-arrays
    const sparse = [, 1];
    expect(refusal(sparse).code).toBe('VALIDATION_FAILED');
    expect(refusal(new Array(2)).code).toBe('VALIDATION_FAILED');
  });
});

/** JSON values as canonicalJson accepts them: safe integers only, any UTF-16 text. */
const utf16Text = fc.string({
  unit: fc.oneof(
    fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code)),
    fc.constantFrom('\u2028', '\ud83d\ude00', '"', '\\', '/', '~'),
  ),
  maxLength: 8,
});

const { value: canonicalValue } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.maxSafeInteger(),
    fc.constantFrom(0, -0, 1, -1, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER),
    utf16Text,
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(utf16Text, tie('value'), { maxKeys: 6 }),
  ),
}));

/** A deep copy whose objects list their keys in the order `order` gives. */
function reorderKeys(value: unknown, order: (keys: string[]) => string[]): unknown {
  if (Array.isArray(value)) return value.map((item) => reorderKeys(item, order));
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const key of order(Object.keys(value))) {
    Object.defineProperty(out, key, {
      value: reorderKeys((value as Record<string, unknown>)[key], order),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

/** Fisher-Yates with a small deterministic generator, so a failing case replays. */
function shuffler(seed: number): (keys: string[]) => string[] {
  let state = seed >>> 0 || 1;
  const next = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
  return (keys) => {
    const out = [...keys];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(next() * (i + 1));
      [out[i], out[j]] = [out[j] as string, out[i] as string];
    }
    return out;
  };
}

describe('canonicalJson properties', () => {
  it('is a fixed point: encoding the parsed output gives the output again', () => {
    fc.assert(
      fc.property(canonicalValue, (value) => {
        const text = canonicalJson(value);
        expect(canonicalJson(JSON.parse(text))).toBe(text);
      }),
      { numRuns: 500 },
    );
  });

  it('round-trips the value (up to -0 and omitted undefined)', () => {
    fc.assert(
      fc.property(canonicalValue, (value) => {
        const text = canonicalJson(value);
        expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(value)));
      }),
      { numRuns: 300 },
    );
  });

  it('does not depend on the order of the input keys', () => {
    fc.assert(
      fc.property(canonicalValue, fc.integer(), (value, seed) => {
        const text = canonicalJson(value);
        expect(canonicalJson(reorderKeys(value, shuffler(seed)))).toBe(text);
        expect(canonicalJson(reorderKeys(value, (keys) => [...keys].reverse()))).toBe(text);
      }),
      { numRuns: 500 },
    );
  });

  it('writes the keys of every object in UTF-16 code unit order', () => {
    fc.assert(
      fc.property(fc.dictionary(utf16Text, fc.constant(0), { maxKeys: 12 }), (object) => {
        const parsed = JSON.parse(canonicalJson(object)) as Record<string, unknown>;
        const keys = Object.keys(parsed);
        // Integer-like keys enumerate first whatever the text says, so compare a re-scan of the text.
        const textKeys = [...canonicalJson(object).matchAll(/"((?:[^"\\]|\\.)*)":0/g)].map(
          (m) => JSON.parse(`"${m[1] ?? ''}"`) as string,
        );
        expect(new Set(textKeys)).toEqual(new Set(keys));
        const sorted = [...textKeys].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
        expect(textKeys).toEqual(sorted);
      }),
      { numRuns: 300 },
    );
  });
});
