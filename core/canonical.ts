/**
 * Canonical JSON bytes: the one function through which everything hashed, signed, stored or put in
 * a Merkle leaf passes.
 *
 * The form follows RFC 8785 (JSON Canonicalization Scheme) for the values we allow: object keys
 * sorted by UTF-16 code units, no insignificant whitespace, strings escaped as ECMAScript
 * `JSON.stringify` does, numbers in ECMAScript shortest form. We are stricter than JCS: numbers
 * must be safe integers (no floats cross our wire), and `undefined`, functions, symbols, bigints,
 * non-plain objects and cycles are refused. Object properties whose value is `undefined` are
 * omitted, so optional fields can be left unset.
 *
 * Three encoders give the same text, tried in turn (everything hashed passes here, so this is a
 * hot path): a value already in canonical shape (keys in order, nothing refused) is handed to
 * `JSON.stringify` after a walk that allocates nothing ({@link isCanonicalShape}); any other
 * value goes to {@link encodeFast}, which sorts keys; and a value that refuses goes to
 * {@link encode}, whose refusal names the path of the offending value.
 */

import { ValidationError, escapePointerToken } from './errors';

/** A JSON value as we accept it for canonical encoding. */
export type CanonicalValue =
  | null
  | boolean
  | number
  | string
  | readonly CanonicalValue[]
  | { readonly [key: string]: CanonicalValue | undefined };

/**
 * Returns the canonical JSON text of `value`.
 * @throws ValidationError `VALIDATION_FAILED` when the value holds something JSON cannot carry
 *   exactly (non-integer or unsafe numbers, undefined in arrays, cycles, class instances).
 */
export function canonicalJson(value: unknown): string {
  // JSON.stringify writes keys in enumeration order and no toJSON is called on a value the walk
  // accepts, so for such a value its text is the canonical text.
  if (isCanonicalShape(value, 0)) return JSON.stringify(value);
  return canonicalJsonReference(value);
}

/**
 * {@link canonicalJson} without its shortcut for values already in canonical shape: the same text
 * and the same refusals. Exported for tests, which check the two agree.
 * @internal
 */
export function canonicalJsonReference(value: unknown): string {
  try {
    return encodeFast(value, []);
  } catch (error) {
    if (error !== REFUSED) throw error;
    // Something cannot be encoded: the careful encoder finds it and names its path.
    return encode(value, '', new Set());
  }
}

/**
 * UTF-8 bytes of {@link canonicalJson}. A Buffer (a Uint8Array; in the browser bundle, the
 * `buffer` package's, which web/buffer-global.ts injects): Node's UTF-8 encoder is faster than
 * TextEncoder, and both give the same bytes for the well-formed text canonicalJson writes (lone
 * surrogates are escaped). Small results may share memory with other Buffers, as Node's pooled
 * allocations do: read the bytes, not `.buffer`.
 */
export function canonicalBytes(value: unknown): Uint8Array {
  return Buffer.from(canonicalJson(value), 'utf8');
}

/**
 * Nesting past which {@link isCanonicalShape} gives up, standing in for a cycle check: a cyclic
 * value reaches it, and the encoders below then find the cycle.
 */
const SHAPE_DEPTH_LIMIT = 100;

/**
 * True when `JSON.stringify(value)` is the canonical text of `value`: every object is a plain
 * object (prototype `Object.prototype` or null) whose keys enumerate in strictly ascending UTF-16
 * order, every array is a plain array without holes or `undefined`, no object or array has a
 * callable `toJSON`, and the leaves are null, booleans, strings and safe integers (`-0` included,
 * which both write `0`). Object properties whose value is `undefined` are allowed (both omit them).
 * False for anything else, including nesting deeper than {@link SHAPE_DEPTH_LIMIT}; false only
 * means "take the sorting encoder". Allocates nothing.
 *
 * Values are read once here and once more by JSON.stringify, so getters must answer the same both
 * times (JSON data has none). `for...in` is used for its order: the own enumerable keys in the
 * order JSON.stringify writes them, then any enumerable keys inherited from Object.prototype, which
 * JSON.stringify leaves out. Without those (the normal case) the walk sees exactly the keys
 * written; with them it sees more, and the written keys are in order whenever all of them are.
 * @internal Exported for tests.
 */
export function isCanonicalShape(value: unknown, depth = 0): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isSafeInteger(value);
    case 'object':
      if (value === null) return true;
      break;
    default:
      return false;
  }
  if (depth >= SHAPE_DEPTH_LIMIT) return false;
  const object = value as Record<string, unknown>;
  // JSON.stringify would call it (even one that does not enumerate, or is inherited).
  if (typeof object.toJSON === 'function') return false;
  if (Array.isArray(object)) {
    // Array subclasses and arrays of other realms: the sorting encoder takes them.
    if (Object.getPrototypeOf(object) !== Array.prototype) return false;
    for (let index = 0; index < object.length; index++) {
      const item: unknown = object[index];
      if (item === undefined || !isCanonicalShape(item, depth + 1)) return false;
    }
    return true;
  }
  const proto = Object.getPrototypeOf(object) as unknown;
  if (proto !== Object.prototype && proto !== null) return false;
  let previous: string | undefined;
  for (const key in object) {
    // RFC 8785 §3.2.3 order is `<` on JS strings; integer-like keys enumerate first in numeric
    // order, so "10" before "9" fails here, as it should.
    if (previous !== undefined && !(previous < key)) return false;
    previous = key;
    const item = object[key];
    if (item !== undefined && !isCanonicalShape(item, depth + 1)) return false;
  }
  return true;
}

/** Thrown by {@link encodeFast} for anything it does not encode; never escapes this module. */
const REFUSED = Symbol('refused');

/**
 * The same encoding as {@link encode} for values it accepts, built without the JSON pointers that
 * only a refusal needs (every value not already in canonical shape goes through here). Any value
 * {@link encode} refuses makes it throw {@link REFUSED} instead. `ancestors` holds the objects
 * being encoded above `value` (a cycle check; they are few).
 */
function encodeFast(value: unknown, ancestors: object[]): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isSafeInteger(value)) throw REFUSED;
      return Object.is(value, -0) ? '0' : String(value);
    case 'object':
      break;
    default:
      throw REFUSED;
  }
  const object = value as object;
  if (ancestors.includes(object)) throw REFUSED;
  ancestors.push(object);
  let out: string;
  if (Array.isArray(object)) {
    out = '[';
    for (let index = 0; index < object.length; index++) {
      const item: unknown = object[index];
      if (item === undefined) throw REFUSED;
      out += (index === 0 ? '' : ',') + encodeFast(item, ancestors);
    }
    out += ']';
  } else {
    const proto = Object.getPrototypeOf(object) as unknown;
    if (proto !== Object.prototype && proto !== null) throw REFUSED;
    const record = object as Record<string, unknown>;
    // The default sort compares UTF-16 code units, as RFC 8785 §3.2.3 asks.
    const keys = Object.keys(record).sort();
    out = '{';
    for (const key of keys) {
      const item = record[key];
      if (item === undefined) continue;
      out +=
        (out.length === 1 ? '' : ',') + JSON.stringify(key) + ':' + encodeFast(item, ancestors);
    }
    out += '}';
  }
  ancestors.pop();
  return out;
}

function fail(path: string, message: string): never {
  throw new ValidationError('VALIDATION_FAILED', `cannot encode canonically: ${message}`, [
    { path, rule: 'canonical', message },
  ]);
}

function encode(value: unknown, path: string, seen: Set<object>): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'string':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isSafeInteger(value)) fail(path, 'numbers must be safe integers');
      return Object.is(value, -0) ? '0' : String(value);
    case 'object':
      break;
    default:
      fail(path, `a ${typeof value} has no JSON form`);
  }
  const object = value as object;
  if (seen.has(object)) fail(path, 'cycle');
  seen.add(object);
  try {
    if (Array.isArray(object)) {
      const parts: string[] = [];
      for (let index = 0; index < object.length; index++) {
        // Indexing (not map) so holes of sparse arrays are seen and refused like undefined.
        const item: unknown = object[index];
        if (item === undefined) fail(`${path}/${index}`, 'undefined or a hole in an array');
        parts.push(encode(item, `${path}/${index}`, seen));
      }
      return `[${parts.join(',')}]`;
    }
    const proto = Object.getPrototypeOf(object) as unknown;
    if (proto !== Object.prototype && proto !== null) fail(path, 'only plain objects are allowed');
    const record = object as Record<string, unknown>;
    const keys = Object.keys(record)
      .filter((key) => record[key] !== undefined)
      .sort(compareUtf16);
    const parts = keys.map(
      (key) =>
        `${JSON.stringify(key)}:${encode(record[key], `${path}/${escapePointerToken(key)}`, seen)}`,
    );
    return `{${parts.join(',')}}`;
  } finally {
    seen.delete(object);
  }
}

/** RFC 8785 §3.2.3: sort by UTF-16 code units, which is what `<` on JS strings compares. */
function compareUtf16(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
