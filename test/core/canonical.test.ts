import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  canonicalBytes,
  canonicalJson,
  canonicalJsonReference,
  isCanonicalShape,
} from '../../core/canonical';
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

/**
 * An encoder written here from RFC 8785 and our restrictions, independent of core/canonical.ts:
 * `undefined` when core must refuse the value.
 */
function independentCanonical(
  value: unknown,
  ancestors: readonly object[] = [],
): string | undefined {
  if (value === null) return 'null';
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') return Number.isSafeInteger(value) ? String(value + 0) : undefined;
  if (typeof value !== 'object' || ancestors.includes(value)) return undefined;
  const inner = [...ancestors, value];
  if (Array.isArray(value)) {
    const parts: string[] = [];
    for (let index = 0; index < value.length; index++) {
      const part =
        value[index] === undefined ? undefined : independentCanonical(value[index], inner);
      if (part === undefined) return undefined;
      parts.push(part);
    }
    return `[${parts.join(',')}]`;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return undefined;
  const parts: string[] = [];
  const keys = Object.keys(value).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const key of keys) {
    const item: unknown = (value as Record<string, unknown>)[key];
    if (item === undefined) continue;
    const part = independentCanonical(item, inner);
    if (part === undefined) return undefined;
    parts.push(`${JSON.stringify(key)}:${part}`);
  }
  return `{${parts.join(',')}}`;
}

/** The outcome of a call: its text, or the refusal's code, message and fields. */
function outcomeOf(encode: (value: unknown) => string, value: unknown): unknown {
  try {
    return { text: encode(value) };
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    return { code: error.code, message: error.message, fields: error.fields };
  }
}

/** True when every object of `value` enumerates its keys in `<` order (integer-like keys first). */
function enumeratesSorted(value: unknown): boolean {
  if (Array.isArray(value)) return value.every(enumeratesSorted);
  if (value === null || typeof value !== 'object') return true;
  const keys = Object.keys(value);
  return (
    keys.every((key, index) => index === 0 || (keys[index - 1] as string) < key) &&
    Object.values(value).every(enumeratesSorted)
  );
}

/** Keys that exercise enumeration order: integer-like ones (which enumerate first), surrogates. */
const trickyKey = fc.oneof(
  utf16Text,
  fc.constantFrom(
    '',
    '0',
    '1',
    '9',
    '10',
    '01',
    '-1',
    '1.5',
    '4294967294', // the largest array index
    '4294967295', // not an index: enumerates in insertion order
    '9007199254740993',
    'toJSON',
    'a',
    'b',
    'Z',
    '\u00e9',
    '\ud800', // lone surrogates
    '\udfff',
    '\ud83d\ude00',
    '\uffff',
  ),
);

/** JSON-like values with undefined properties, -0 and tricky keys; some objects already sorted. */
const { value: shapedValue } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.maxSafeInteger(),
    fc.constantFrom(0, -0, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER),
    utf16Text,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(trickyKey, fc.option(tie('value'), { nil: undefined }), { maxKeys: 6 }),
    fc
      .dictionary(trickyKey, fc.option(tie('value'), { nil: undefined }), { maxKeys: 6 })
      .map((object) => reorderKeys(object, (keys) => [...keys].sort())),
  ),
}));

/** Values the encoder refuses somewhere inside, next to acceptable ones. */
class Opaque {
  readonly x = 1;
}
const refusedLeaf = fc.constantFrom<unknown>(
  1.5,
  NaN,
  Infinity,
  2 ** 53,
  10n,
  Symbol('s'),
  () => 1,
  new Date(0),
  new Map(),
  new Opaque(),
  new Uint8Array(1),
  Object('boxed'),
);
const { value: mixedValue } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.maxSafeInteger(),
    utf16Text,
    refusedLeaf,
    fc.array(fc.option(tie('value'), { nil: undefined, freq: 8 }), { maxLength: 4 }),
    fc.dictionary(trickyKey, tie('value'), { maxKeys: 5 }),
    fc
      .dictionary(trickyKey, tie('value'), { maxKeys: 5 })
      .map((object) => reorderKeys(object, (keys) => [...keys].sort())),
  ),
}));

describe('canonicalJson shortcut for values already in canonical shape', () => {
  it('gives the text of the sorting encoders and of an independent encoder, in any key order', () => {
    let shortcuts = 0;
    fc.assert(
      fc.property(shapedValue, (value) => {
        const reference = canonicalJsonReference(value);
        expect(canonicalJson(value)).toBe(reference);
        expect(independentCanonical(value)).toBe(reference);
        // The same value with every object's keys in `<` order: the shortcut's usual input.
        const sorted = reorderKeys(value, (keys) => [...keys].sort());
        expect(canonicalJson(sorted)).toBe(reference);
        expect(canonicalJson(reorderKeys(value, (keys) => [...keys].reverse()))).toBe(reference);
        // Parsed canonical text enumerates sorted unless integer-like keys jump ahead.
        const parsed: unknown = JSON.parse(reference);
        expect(isCanonicalShape(parsed)).toBe(enumeratesSorted(parsed));
        if (isCanonicalShape(sorted)) shortcuts += 1;
        expect(
          Buffer.from(canonicalBytes(sorted)).equals(new TextEncoder().encode(reference)),
        ).toBe(true);
      }),
      { numRuns: 1000 },
    );
    // The property exercised the shortcut, not only the encoders behind it.
    expect(shortcuts).toBeGreaterThan(100);
  });

  it('refuses what the sorting encoders refuse, with the same code, message and pointer', () => {
    let refused = 0;
    fc.assert(
      fc.property(mixedValue, (value) => {
        const expected = outcomeOf(canonicalJsonReference, value);
        expect(outcomeOf(canonicalJson, value)).toEqual(expected);
        expect(outcomeOf((v) => Buffer.from(canonicalBytes(v)).toString('utf8'), value)).toEqual(
          expected,
        );
        if ('code' in (expected as object)) refused += 1;
      }),
      { numRuns: 1000 },
    );
    expect(refused).toBeGreaterThan(100);
  });

  it('takes values in canonical shape, -0 and undefined properties included', () => {
    const value = {
      '': [null, true, -0, Number.MIN_SAFE_INTEGER],
      a: { b: undefined, c: '\ud800' },
      b: [],
    };
    expect(isCanonicalShape(value)).toBe(true);
    expect(canonicalJson(value)).toBe(
      '{"":[null,true,0,-9007199254740991],"a":{"c":"\\ud800"},"b":[]}',
    );
    const bare = Object.create(null) as Record<string, unknown>;
    bare.a = 1;
    bare.b = [bare.a];
    expect(isCanonicalShape(bare)).toBe(true);
    expect(canonicalJson(bare)).toBe('{"a":1,"b":[1]}');
  });

  it('leaves everything else to the sorting encoders', () => {
    class List extends Array<number> {}
    const withArrayToJson = Object.assign([1], { toJSON: () => 'x' });
    const hiddenToJson = Object.defineProperty({ a: 1 }, 'toJSON', { value: () => 'x' });
    const cases: ReadonlyArray<readonly [string, unknown, string]> = [
      ['keys out of order', { b: 1, a: 2 }, '{"a":2,"b":1}'],
      [
        'integer-like keys, which enumerate in numeric order',
        { '9': 1, '10': 2 },
        '{"10":2,"9":1}',
      ],
      ['an array subclass', List.from([2, 1]), '[2,1]'],
      ['an array with a toJSON of its own', withArrayToJson, '[1]'],
      ['a toJSON that does not enumerate', hiddenToJson, '{"a":1}'],
    ];
    for (const [what, value, expected] of cases) {
      expect(isCanonicalShape(value), what).toBe(false);
      expect(canonicalJson(value), what).toBe(expected);
    }
    // A toJSON that is data is data.
    expect(canonicalJson({ toJSON: 'x' })).toBe('{"toJSON":"x"}');
    expect(canonicalJson({ toJSON: { a: 1 } })).toBe('{"toJSON":{"a":1}}');
  });

  it('ignores keys inherited from a polluted Object.prototype, as JSON.stringify does', () => {
    // Enumerable keys inherited from Object.prototype come last in for...in, and JSON.stringify
    // leaves them out. The walk reads the inherited "b" after "a" (a float: it gives up) and
    // after "c" (out of order: it gives up); an own "b" hides it, and the walk takes the value.
    const texts: string[] = [];
    Object.defineProperty(Object.prototype, 'b', {
      value: 1.5,
      enumerable: true,
      writable: true,
      configurable: true,
    });
    try {
      texts.push(canonicalJson({ a: 1 }), canonicalJson({ c: 1 }), canonicalJson({ b: 2, c: 1 }));
    } finally {
      delete (Object.prototype as Record<string, unknown>).b;
    }
    expect(texts).toEqual(['{"a":1}', '{"c":1}', '{"b":2,"c":1}']);
  });

  it('gives up past its depth limit, where the encoders behind it still encode or find cycles', () => {
    let deep: unknown = 0;
    for (let level = 0; level < 150; level++) deep = level % 2 ? [deep] : { a: deep };
    expect(isCanonicalShape(deep)).toBe(false);
    expect(canonicalJson(deep)).toBe(canonicalJsonReference(deep));
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.b = { c: [cyclic] };
    expect(refusal(cyclic).fields?.[0]?.path).toBe('/b/c/0');
  });

  it('reads getters like data (values are JSON data, whose getters answer the same each time)', () => {
    const value = {
      get a() {
        return [1];
      },
    };
    expect(canonicalJson(value)).toBe('{"a":[1]}');
  });

  it('returns the UTF-8 bytes as a Uint8Array', () => {
    const bytes = canonicalBytes({ a: '\u8bc1\ud83d\ude00' });
    expect(bytes).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(bytes).equals(new TextEncoder().encode('{"a":"\u8bc1\ud83d\ude00"}'))).toBe(
      true,
    );
  });
});
